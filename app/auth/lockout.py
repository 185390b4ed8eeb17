"""Failed-login lockouts that an attacker cannot turn against the account's owner.

Counters live in Redis for LOGIN_FAILURE_WINDOW seconds, keyed by the account's email as typed (normalized),
whether or not the account exists, so the answers reveal nothing:

- per client address and account: LOGIN_LOCKOUT_FAILURES wrong passwords lock that pair out (429, Retry-After)
  until the window ends; the same account from another address, and other accounts from this address, are not
  affected;
- per account, all addresses together: past LOGIN_ACCOUNT_SLOWDOWN_FAILURES the account is under attack, and an
  address that has not signed in to it successfully in the last LOGIN_KNOWN_ADDRESS_DAYS gets one attempt per
  LOGIN_SLOWDOWN_SECONDS. Addresses the owner signed in from keep the per-pair rule only.

There is no account-wide lock: however many addresses an attacker fails from, the owner still signs in.
"""
from flask import current_app

from app.common.errors import TooManyRequests
from app.common.security import keyed_digest
from app.extensions import redis_client

PAIR_KEY = "auth:login-failures:{address}:{account}"
ACCOUNT_KEY = "auth:login-failures:{account}"
SLOW_KEY = "auth:login-slowed:{address}:{account}"
KNOWN_KEY = "auth:login-known:{address}:{account}"


def _account(email):
    return keyed_digest(f"login:{(email or '').strip().lower()}")[:32]


def _refuse(seconds, message):
    seconds = max(int(seconds), 1)
    return TooManyRequests(f"Too many requests: {message} Try again in {seconds} s.",
                           headers={"Retry-After": str(seconds)})


def check(address, email):
    """Raise TooManyRequests when this address may not try this account now (a slowed try is spent here)."""
    config, client = current_app.config, redis_client.client
    account = _account(email)
    pair_key = PAIR_KEY.format(address=address, account=account)
    pipe = client.pipeline(transaction=False)
    pipe.get(pair_key)
    pipe.ttl(pair_key)
    pipe.get(ACCOUNT_KEY.format(account=account))
    pipe.exists(KNOWN_KEY.format(address=address, account=account))
    pair_failures, pair_ttl, account_failures, known = pipe.execute()
    if pair_failures is not None and int(pair_failures) >= config["LOGIN_LOCKOUT_FAILURES"]:
        raise _refuse(pair_ttl, "too many failed logins for this account from this address.")
    under_attack = account_failures is not None and int(account_failures) >= config["LOGIN_ACCOUNT_SLOWDOWN_FAILURES"]
    if under_attack and not known:
        slow_key = SLOW_KEY.format(address=address, account=account)
        if not client.set(slow_key, "1", nx=True, ex=config["LOGIN_SLOWDOWN_SECONDS"]):
            raise _refuse(client.ttl(slow_key), "this account is receiving many failed logins; logins from new "
                                                "addresses are slowed.")


def record_failure(address, email):
    window = current_app.config["LOGIN_FAILURE_WINDOW"]
    account = _account(email)
    pipe = redis_client.client.pipeline()
    for key in (PAIR_KEY.format(address=address, account=account), ACCOUNT_KEY.format(account=account)):
        pipe.incr(key)
        pipe.expire(key, window, nx=True)  # the window starts at the first failure
    pipe.execute()


def record_success(address, email):
    """Clear the pair's failures and remember the address as one the owner signs in from."""
    account = _account(email)
    days = current_app.config["LOGIN_KNOWN_ADDRESS_DAYS"]
    pipe = redis_client.client.pipeline()
    pipe.delete(PAIR_KEY.format(address=address, account=account))
    pipe.set(KNOWN_KEY.format(address=address, account=account), "1", ex=int(days * 86400))
    pipe.execute()
