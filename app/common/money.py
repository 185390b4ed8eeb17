"""Money is integer minor units plus an ISO 4217 code; never floats."""
from marshmallow import ValidationError

# Currencies we accept, with their minor-unit exponent (ISO 4217).
CURRENCY_EXPONENTS = {"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "CHF": 2, "JPY": 0, "INR": 2, "SGD": 2}


def validate_currency(code):
    if code not in CURRENCY_EXPONENTS:
        raise ValidationError(f"Unsupported currency {code!r}; use one of {sorted(CURRENCY_EXPONENTS)}.")


def format_money(amount_cents, currency):
    exponent = CURRENCY_EXPONENTS[currency]
    if exponent == 0:
        return f"{amount_cents} {currency}"
    sign = "-" if amount_cents < 0 else ""
    whole, minor = divmod(abs(amount_cents), 10**exponent)
    return f"{sign}{whole}.{minor:0{exponent}d} {currency}"
