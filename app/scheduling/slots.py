"""Slot expansion: weekly rules in the tutor's IANA zone → free UTC slots, DST-correct.

Slot starts step through each day's hours in *local wall-clock* time (09:00, 09:30, …) and are converted to
UTC with zoneinfo, so a 09:00 rule is 14:00Z in winter and 13:00Z in summer for America/New_York. A local
start that does not exist (the spring-forward gap) is skipped; an ambiguous one (the fall-back hour) takes its
first occurrence. A slot lasts ``duration`` real minutes and must end by the day's closing instant.
"""
import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Policy:
    """What slot expansion needs of a tutor's settings (plain values, so it runs without a session)."""

    zone: str
    session_lengths: tuple = (30, 60)
    slot_interval: int = 30
    buffer_before: int = 0
    buffer_after: int = 0
    min_notice: int = 0
    max_days_ahead: int = 60
    daily_limit: int | None = None
    weekly_limit: int | None = None


def local_instant(day, minute, tz):
    """UTC instant of a local wall time (minute after midnight, up to 1440); None if it does not exist."""
    if minute >= 1440:
        day, minute = day + DAY, minute - 1440
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    instant = wall.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall.replace(tzinfo=None):
        return None  # in the spring-forward gap
    return instant


def closing_instant(day, minute, tz):
    """UTC instant a day's hours end: a closing time inside the gap means the first valid instant after it."""
    instant = local_instant(day, minute, tz)
    if instant is not None:
        return instant
    later = minute
    while instant is None:
        later += 1
        instant = local_instant(day, later, tz)
    return instant


def hours_by_date(first_day, last_day, rules, overrides):
    """{local date: [(start_minute, end_minute)]} from weekly rules, overrides replacing a whole date."""
    weekly = {}
    for weekday, start, end in rules:
        weekly.setdefault(weekday, []).append((start, end))
    override_days = {}
    for day, start, end in overrides:
        hours = override_days.setdefault(day, [])
        if start is not None:
            hours.append((start, end))
    result = {}
    day = first_day
    while day <= last_day:
        hours = override_days[day] if day in override_days else weekly.get(day.weekday(), [])
        if hours:
            result[day] = sorted(hours)
        day += DAY
    return result


def candidate_days(policy, rules, overrides, range_start, range_end, duration):
    """(local date, start, end) for every slot the rules offer with start in [range_start, range_end).

    On a day whose hours contain no offset change, slot starts are the opening instant plus whole steps
    (one zone conversion per interval); only a day with a DST change converts each wall time."""
    tz = ZoneInfo(policy.zone)
    step = policy.slot_interval
    step_delta = timedelta(minutes=step)
    length = timedelta(minutes=duration)
    first_day = range_start.astimezone(tz).date() - DAY
    last_day = range_end.astimezone(tz).date()
    for day, hours in hours_by_date(first_day, last_day, rules, overrides).items():
        for start_minute, end_minute in hours:
            opens = local_instant(day, start_minute, tz)
            closes = closing_instant(day, end_minute, tz)
            if closes <= range_start or (opens is not None and opens >= range_end):
                continue
            if opens is not None and closes - opens == timedelta(minutes=end_minute - start_minute):
                start = opens  # no offset change inside these hours: plain arithmetic is exact
                while start + length <= closes:
                    if start >= range_end:
                        break
                    if start >= range_start:
                        yield day, start, start + length
                    start += step_delta
                continue
            minute = start_minute
            while minute < end_minute:
                start = local_instant(day, minute, tz)
                minute += step
                if start is None:
                    continue
                end = start + length
                if end > closes:
                    break
                if range_start <= start < range_end:
                    yield day, start, end


def candidate_slots(policy, rules, overrides, range_start, range_end, duration):
    """Every (start, end) UTC slot the rules offer with start in [range_start, range_end), busy time ignored."""
    slots = sorted((start, end) for _day, start, end in candidate_days(policy, rules, overrides, range_start,
                                                                          range_end, duration))
    return _dedupe(slots)


def _dedupe(slots):
    result = []
    for slot in slots:
        if not result or result[-1] != slot:
            result.append(slot)
    return result


class BusyIndex:
    """Sorted busy intervals answering "does [start, end) overlap any?" in O(log n)."""

    def __init__(self, intervals):
        merged = []
        for start, end in sorted(intervals):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [interval[0] for interval in merged]
        self.ends = [interval[1] for interval in merged]

    def overlaps(self, start, end):
        index = bisect.bisect_left(self.starts, end) - 1
        return index >= 0 and self.ends[index] > start


def local_week(day):
    iso = day.isocalendar()
    return iso[0], iso[1]


def free_slots(policy, rules, overrides, busy, active_starts, range_start, range_end, duration, now):
    """Candidate slots minus notice/horizon, busy intervals (with buffers) and daily/weekly limits.

    ``busy``: (start, end) intervals the tutor cannot work in (buffered bookings, calendar blocks);
    ``active_starts``: start instants of the tutor's active bookings, counted against the limits.
    """
    tz = ZoneInfo(policy.zone)
    earliest = max(range_start, now + timedelta(minutes=policy.min_notice))
    latest = min(range_end, now + timedelta(days=policy.max_days_ahead))
    if earliest >= latest:
        return []
    index = BusyIndex(busy)
    before = timedelta(minutes=policy.buffer_before)
    after = timedelta(minutes=policy.buffer_after)
    per_day, per_week = {}, {}
    if policy.daily_limit is not None or policy.weekly_limit is not None:
        for start in active_starts:
            day = start.astimezone(tz).date()
            per_day[day] = per_day.get(day, 0) + 1
            per_week[local_week(day)] = per_week.get(local_week(day), 0) + 1
    result = []
    for day, start, end in candidate_days(policy, rules, overrides, earliest, latest, duration):
        if index.overlaps(start - before, end + after):
            continue
        if per_day or per_week:
            if policy.daily_limit is not None and per_day.get(day, 0) >= policy.daily_limit:
                continue
            if policy.weekly_limit is not None and per_week.get(local_week(day), 0) >= policy.weekly_limit:
                continue
        result.append((start, end))
    result.sort()
    return _dedupe(result)



