"""The ``[from, to)`` of a dashboard, and the weeks it is cut into."""
from datetime import timedelta

import pandas as pd
from flask import current_app

from app.common import time as clock


def dashboard_window(since=None, until=None, now=None):
    """``to`` defaults to now, ``from`` to PROGRESS_DEFAULT_DAYS before ``to``; both aware; ``to`` after ``from``
    and at most ANALYTICS_MAX_DAYS later (else 422)."""
    config = current_app.config
    return clock.report_period(since, until, config["PROGRESS_DEFAULT_DAYS"], config["ANALYTICS_MAX_DAYS"],
                               "A dashboard", now=now)


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
