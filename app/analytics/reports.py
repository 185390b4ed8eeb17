"""The four admin reports over the daily figures: periods (day, ISO week, calendar month, UTC), totals, exports.

Each report is a table of period rows (``period_start``, ``period_end``, the report's keys, its columns) and a
totals table (per key). Counts and sums add up: the totals are the sums of the period rows, so a CSV or XLSX read
back and summed gives the JSON totals. Rates and averages are recomputed from those sums (not summed), and a
level (``weekly_active_users``) takes its value at the period's last day (its total: at the window's last day).
"""
import io
from dataclasses import dataclass

import pandas as pd

from app.matching.services import ARMS

GROUPS = {"day": "D", "week": "W-SUN", "month": "M"}


def _ratio(numerator, denominator, scale=1.0, digits=4):
    def compute(frame):
        den = frame[denominator].astype("float64")
        value = (frame[numerator] / den.where(den != 0)) * scale
        return value.fillna(0.0).round(digits)
    return compute


def _sum_of(*names):
    def compute(frame):
        return sum(frame[name] for name in names)
    return compute


@dataclass(frozen=True)
class Spec:
    """A report: which daily metrics it reads, its key columns, summed/level columns and derived columns."""

    metrics: tuple
    keys: tuple = ()
    sums: tuple = ()
    levels: tuple = ()
    derived: tuple = ()  # (name, function of the summed frame)
    money: bool = False
    sources: tuple = ("bookings",)  # what computes its figures live (app.analytics.queries.SOURCES)


RATINGS = tuple(f"rating_{n}" for n in range(1, 6))
FUNNEL = ("shown", "match_requested", "match_completed")  # match shown → booking requested → completed
ARM_FUNNEL = tuple(f"{figure}_{arm}" for arm in ARMS for figure in FUNNEL)  # shown_fixed … match_completed_learned
ARM_RATES = tuple(rate for arm in ARMS for rate in (
    (f"shown_to_requested_rate_{arm}", _ratio(f"match_requested_{arm}", f"shown_{arm}")),
    (f"match_requested_to_completed_rate_{arm}", _ratio(f"match_completed_{arm}", f"match_requested_{arm}"))))

SPECS = {
    "engagement": Spec(
        metrics=("signups", "active_users", "weekly_active_users", "logins", "chat_messages", "chat_senders"),
        sums=("signups", "active_user_days", "logins", "chat_messages", "chat_sender_days", "days"),
        levels=("weekly_active_users",),
        derived=(("avg_daily_active_users", _ratio("active_user_days", "days", digits=2)),),
        sources=("engagement",),
    ),
    "matching": Spec(
        metrics=(*FUNNEL, "requested", "confirmed", "completed", "first_bookings", "first_booking_seconds",
                 *ARM_FUNNEL),
        keys=("subject",),
        sums=(*FUNNEL, "requested", "confirmed", "completed", "first_bookings", "first_booking_seconds",
              *ARM_FUNNEL),
        derived=(("shown_to_requested_rate", _ratio("match_requested", "shown")),
                 ("match_requested_to_completed_rate", _ratio("match_completed", "match_requested")),
                 ("request_to_confirmed_rate", _ratio("confirmed", "requested")),
                 ("request_to_completed_rate", _ratio("completed", "requested")),
                 ("avg_hours_to_first_booking", _ratio("first_booking_seconds", "first_bookings", 1 / 3600, 2)),
                 *ARM_RATES),
        sources=("matches", "bookings"),
    ),
    "marketplace": Spec(
        metrics=("accepted", "rejected", "expired", "response_seconds", "completed", "cancelled", "no_shows",
                 "gmv_minor", "revenue_minor"),
        sums=("accepted", "rejected", "expired", "response_seconds", "completed", "cancelled", "no_shows"),
        derived=(("answered", _sum_of("accepted", "rejected", "expired")),
                 ("ended", _sum_of("completed", "cancelled", "no_shows")),
                 ("acceptance_rate", lambda f: _ratio("accepted", "answered")(f)),
                 ("avg_response_minutes", _ratio("response_seconds", "accepted", 1 / 60, 2)),
                 ("cancellation_rate", lambda f: _ratio("cancelled", "ended")(f)),
                 ("no_show_rate", lambda f: _ratio("no_shows", "ended")(f))),
        money=True,
        sources=("bookings", "money"),
    ),
    "quality": Spec(
        metrics=("reviews", "tutor_reviews", *RATINGS),
        sums=("reviews", "tutor_reviews", *RATINGS),
        derived=(("average_rating", lambda f: _ratio("rating_points", "reviews", digits=3)(
            f.assign(rating_points=sum(f[r] * n for n, r in enumerate(RATINGS, start=1))))),),
        sources=("reviews",),
    ),
}
REPORTS = tuple(SPECS)
RENAMED = {"active_users": "active_user_days", "chat_senders": "chat_sender_days"}


@dataclass
class Report:
    name: str
    since: object
    until: object
    group: str
    subject: str | None
    periods: pd.DataFrame
    totals: pd.DataFrame

    def as_dict(self):
        """The JSON body: period timestamps as ISO 8601 with offset (as in the CSV), figures as Python numbers."""
        return {"report": self.name, "since": self.since, "until": self.until, "group": self.group,
                "subject": self.subject, "columns": [c for c in self.periods.columns],
                "periods": self._export_frame().to_dict("records"), "totals": self.totals.to_dict("records")}

    def _export_frame(self):
        frame = self.periods.copy()
        for column in ("period_start", "period_end"):
            frame[column] = [value.isoformat() for value in frame[column]]
        return frame

    def to_csv(self):
        buffer = io.StringIO()
        self._export_frame().to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()

    def to_xlsx(self):
        """The period rows on sheet ``periods`` and the totals on sheet ``totals`` (xlsxwriter)."""
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="xlsxwriter") as writer:
            self._export_frame().to_excel(writer, sheet_name="periods", index=False)
            self.totals.to_excel(writer, sheet_name="totals", index=False)
        return buffer.getvalue()

    def filename(self, extension):
        return f"analytics-{self.name}-{self.since:%Y%m%d}-{self.until:%Y%m%d}-{self.group}.{extension}"


def _periods(first, last, group):
    """The periods covering days ``first`` … ``last``: {day: period number} and a frame of period (0, 1, …),
    period_start, period_end (UTC, clipped to the window) and days."""
    freq = GROUPS[group]
    days = pd.period_range(first, last, freq="D")
    day_periods = days.asfreq(freq)
    periods = pd.period_range(day_periods[0], day_periods[-1], freq=freq)
    numbers = (day_periods - periods[0]).map(lambda offset: offset.n) if len(periods) > 1 else [0] * len(days)
    mapping = dict(zip(days.to_timestamp().date, numbers, strict=True))
    lower, upper = pd.Timestamp(first), pd.Timestamp(last) + pd.Timedelta(days=1)
    starts = periods.start_time.normalize().where(periods.start_time.normalize() > lower, lower)
    ends = (periods + 1).start_time.normalize()
    ends = ends.where(ends < upper, upper)
    frame = pd.DataFrame({"period": range(len(periods)), "period_start": starts.tz_localize("UTC"),
                          "period_end": ends.tz_localize("UTC")})
    frame["days"] = (frame["period_end"] - frame["period_start"]).dt.days.astype("int64")
    return mapping, frame


def build(name, figures, first, last, group, subject, since, until):
    """The report ``name`` from daily ``figures`` (day, metric, subject, currency, value) of days first … last."""
    spec = SPECS[name]
    mapping, periods = _periods(first, last, group)
    figures = figures[figures["metric"].isin(spec.metrics)].copy()
    if subject:
        figures = figures[figures["subject"].isin([subject, ""]) & ~(
            (figures["subject"] == "") & figures["metric"].isin(_subject_metrics()))]
    figures["metric"] = figures["metric"].replace(RENAMED)
    figures["period"] = figures["day"].map(mapping)
    figures = figures[figures["period"].notna()].astype({"period": "int64"})
    keys = list(spec.keys)
    table = _summed(spec, figures, periods, keys)
    table = _with_levels(spec, figures, table, keys)
    if spec.money:
        table = _with_money(figures, table)
    totals = _totals(spec, table, keys)
    table = _derive(spec, table)
    totals = _derive(spec, totals)
    ordered = ["period_start", "period_end", *keys]
    table = table[[*ordered, *[c for c in table.columns if c not in ordered and c != "period"]]]
    return Report(name, since, until, group, subject, table.reset_index(drop=True), totals.reset_index(drop=True))


def _subject_metrics():
    return (*FUNNEL, *ARM_FUNNEL, "requested", "confirmed", "completed", "first_bookings", "first_booking_seconds",
            "accepted", "rejected", "expired", "response_seconds", "cancelled", "no_shows", "reviews", "tutor_reviews", *RATINGS)


def _summed(spec, figures, periods, keys):
    names = [s for s in spec.sums if s != "days"]
    rows = figures[figures["metric"].isin(names)]
    pivot = rows.pivot_table(index=["period", *keys], columns="metric", values="value", aggfunc="sum",
                             fill_value=0)
    pivot = pivot.reindex(columns=names, fill_value=0)
    if keys:
        key_values = sorted(set(rows[keys[0]]) - {""})
        index = pd.MultiIndex.from_product([periods["period"], key_values], names=["period", *keys])
    else:
        index = pd.Index(periods["period"], name="period")
    pivot = pivot.reindex(index, fill_value=0).astype("int64").reset_index()
    table = periods.merge(pivot, on="period")
    if "days" not in spec.sums:
        table = table.drop(columns="days")
    return table


def _with_levels(spec, figures, table, keys):
    for level in spec.levels:
        rows = figures[figures["metric"] == level].sort_values("day")
        last = rows.groupby("period")["value"].last()
        table[level] = table["period"].map(last).fillna(0).astype("int64")
    return table


def _with_money(figures, table):
    money = figures[figures["currency"] != ""]
    for (metric, currency), rows in sorted(money.groupby(["metric", "currency"])):
        column = f"{metric.removesuffix('_minor')}_{currency.lower()}_minor"
        table[column] = table["period"].map(rows.groupby("period")["value"].sum()).fillna(0).astype("int64")
    return table


def _totals(spec, table, keys):
    summed = [c for c in table.columns if c not in ("period", "period_start", "period_end", *keys, *spec.levels)]
    if keys:
        totals = table.groupby(keys, as_index=False)[summed].sum()
    else:
        totals = table[summed].sum().to_frame().T.astype("int64")
    for level in spec.levels:
        totals[level] = int(table[level].iloc[-1]) if len(table) else 0
    return totals


def _derive(spec, frame):
    frame = frame.copy()
    for name, compute in spec.derived:
        frame[name] = compute(frame) if len(frame) else pd.Series(dtype="float64")
    return frame
