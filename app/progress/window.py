"""The ``[from, to)`` of a dashboard, and the weeks it is cut into."""
from datetime import timedelta

import pandas as pd
from flask import current_app

from app.common import time as clock
from app.common.errors import Invalid


def dashboard_window(since=None, until=None, now=None):
    """``to`` defaults to now, ``from`` to PROGRESS_DEFAULT_DAYS before ``to``; both aware; ``to`` after ``from``
    and at most ANALYTICS_MAX_DAYS later (else 422)."""
    for field, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise Invalid("Timestamps need a UTC offset.", errors={field: ["Not a valid aware datetime."]})
    config = current_app.config
    until = until or (now or clock.utcnow())
    since = since or until - timedelta(days=config["PROGRESS_DEFAULT_DAYS"])
    if until <= since:
        raise Invalid("The period ends before it starts.", errors={"to": ["Must be after from."]})
    max_days = config["ANALYTICS_MAX_DAYS"]
    if until - since > timedelta(days=max_days):
        raise Invalid(f"A dashboard covers at most {max_days} days.",
                      errors={"to": [f"Must be at most {max_days} days after from."]})
    return since, until


def week_start(series):
    """The Monday (UTC) of each timestamp's ISO week, as a date."""
    utc = pd.to_datetime(series, utc=True)
    return (utc.dt.normalize() - pd.to_timedelta(utc.dt.day_of_week, unit="D")).dt.date


def week_of(moment):
    """The Monday (UTC) of one aware timestamp's ISO week."""
    day = pd.Timestamp(moment).tz_convert("UTC").date()
    return day - timedelta(days=day.weekday())


def mean(values):
    """The mean of a Series rounded to 2 places, or None when it is empty."""
    values = pd.Series(values, dtype="float64").dropna()
    return None if values.empty else round(float(values.mean()), 2)


def median(values):
    values = pd.Series(values, dtype="float64").dropna()
    return None if values.empty else round(float(values.median()), 2)


def ratio(part, whole):
    """part / whole rounded to 4 places, or None when whole is 0."""
    return None if not whole else round(part / whole, 4)
