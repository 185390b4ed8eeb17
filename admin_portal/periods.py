"""The period filter of the portal's report pages (Finance, Analytics): whole UTC days, ``to`` inclusive."""
from datetime import UTC, date, datetime, timedelta

from flask import flash

from app.common.time import utcnow


def _day(value):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def day_period(args, default_days):
    """(since, until): the ``from``/``to`` dates of the query string as the aware ``[since, until)`` of whole UTC
    days; missing ones default to the last ``default_days`` days, unreadable ones too (with a message)."""
    today = utcnow().date()
    first, last = _day(args.get("from")), _day(args.get("to"))
    if (args.get("from") and first is None) or (args.get("to") and last is None):
        flash("Dates are YYYY-MM-DD; showing the default period.", "error")
        first = last = None
    last = last or today
    first = first or last - timedelta(days=default_days - 1)
    return (datetime.combine(first, datetime.min.time(), UTC),
            datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC))
