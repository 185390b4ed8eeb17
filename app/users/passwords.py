"""Password policy: long enough, not the email, not a well-known password."""

MIN_LENGTH = 10
MAX_LENGTH = 128

# A short list of the most common passwords of 10+ characters (from public breach corpora).
COMMON_PASSWORDS = frozenset("""
1234567890 12345678910 123456789a 0123456789 1q2w3e4r5t 1qaz2wsx3edc qwertyuiop qwerty1234 qwerty12345
password12 password123 password1234 passw0rd123 iloveyou12 iloveyou123 letmein123 welcome123 welcome1234
abc1234567 abcdefghij 1111111111 0000000000 9876543210 a123456789 q1w2e3r4t5 zaq12wsxcde football123
baseball123 princess123 sunshine123 superman123 monkey1234 dragon1234 master1234 trustno1234 starwars123
administrator changeme123 qazwsxedcrfv asdfghjkl1 zxcvbnm123 computer123 internet123 tutorhub123 password!!
""".split())  # noqa: SIM905 (one word per entry, easier to read and extend)


def password_problems(password, email=None):
    """Return a list of reasons the password is refused (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Password must be at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Password must be at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if email:
        email = email.strip().lower()
        if lowered in {email, email.split("@")[0]}:
            problems.append("Password must not be your email address.")
    if lowered in COMMON_PASSWORDS or len(set(password)) <= 2:
        problems.append("This password is too common; choose another.")
    return problems
