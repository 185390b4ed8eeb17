"""Slot expansion: weekly rules in the tutor's IANA zone → free UTC slots, DST-correct.

Slot starts step through each day's hours in *local wall-clock* time (09:00, 09:30, …) and are converted to
UTC with zoneinfo, so a 09:00 rule is 14:00Z in winter and 13:00Z in summer for America/New_York. A local
start that does not exist (the spring-forward gap) is skipped; an ambiguous one (the fall-back hour) takes its
first occurrence. A slot lasts ``duration`` real minutes and must end by the day's closing instant.
"""
import bisect
import functools
import operator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
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


@functools.lru_cache(maxsize=16384)
def local_instant(day, minute, tz):
    """UTC instant of a local wall time (minute after midnight, up to 1440); None if it does not exist.

    Memoised: a pure function of the date, the minute and the zone (zone rules are fixed for the life of
    the process, as ZoneInfo's own cache assumes), called twice per stretch of hours, and the same few
    zones, dates and opening/closing times recur across tutors and requests; the cache holds every boundary
    of a 92-day window for dozens of zone and hours combinations."""
    if minute >= 1440:
        day, minute = day + DAY, minute - 1440
    hour, minute = divmod(minute, 60)
    year, month, mday = day.year, day.month, day.day
    offset = tz.utcoffset(datetime(year, month, mday, hour, minute))
    if offset == tz.utcoffset(datetime(year, month, mday, hour, minute, fold=1)):
        # Neither in a gap nor repeated: one offset, plain arithmetic.
        return datetime(year, month, mday, hour, minute, tzinfo=UTC) - offset
    wall = datetime(year, month, mday, hour, minute, tzinfo=tz)
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
    for day, opens, closes, start_minute, end_minute in _open_hours(policy, tz, rules, overrides, range_start,
                                                                    range_end):
        if opens is not None and closes - opens == timedelta(minutes=end_minute - start_minute):
            start = opens  # no offset change inside these hours: plain arithmetic is exact
            while start + length <= closes:
                if start >= range_end:
                    break
                if start >= range_start:
                    yield day, start, start + length
                start += step_delta
            continue
        for start, end in _wall_clock_slots(day, start_minute, end_minute, closes, tz, step, length):
            if range_start <= start < range_end:
                yield day, start, end


def _wall_clock_slots(day, start_minute, end_minute, closes, tz, step, length):
    """(start, end) of each step of the hours converted one wall time at a time: the path for hours that
    contain an offset change (a wall time in the spring-forward gap has no slot)."""
    for minute in range(start_minute, end_minute, step):
        start = local_instant(day, minute, tz)
        if start is None:
            continue
        end = start + length
        if end > closes:
            return
        yield start, end


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

    def blocked_starts(self, length, before, after):
        """(lows, highs): a slot of ``length`` starting at s, widened by the buffers, overlaps a busy interval
        exactly when lows[i] < s < highs[i] for the last i with lows[i] < s (both lists ascend: the
        merged intervals are disjoint, and every bound moves by the same amount)."""
        shift_low = length + after
        return [start - shift_low for start in self.starts], [end + before for end in self.ends]


def local_week(day):
    iso = day.isocalendar()
    return iso[0], iso[1]


def _limit_counts(policy, tz, active_starts):
    per_day, per_week = {}, {}
    if policy.daily_limit is None and policy.weekly_limit is None:
        return per_day, per_week
    for start in active_starts:
        day = start.astimezone(tz).date()
        week = local_week(day)
        per_day[day] = per_day.get(day, 0) + 1
        per_week[week] = per_week.get(week, 0) + 1
    return per_day, per_week


def _day_is_full(policy, day, per_day, per_week):
    if policy.daily_limit is not None and per_day.get(day, 0) >= policy.daily_limit:
        return True
    return policy.weekly_limit is not None and per_week.get(local_week(day), 0) >= policy.weekly_limit


def _open_hours(policy, tz, rules, overrides, range_start, range_end):
    """(local date, opens, closes, start_minute, end_minute) for every stretch of hours touching the range;
    ``opens`` is None when the opening wall time falls in the spring-forward gap."""
    first_day = range_start.astimezone(tz).date() - DAY
    last_day = range_end.astimezone(tz).date()
    for day, hours in hours_by_date(first_day, last_day, rules, overrides).items():
        for start_minute, end_minute in hours:
            opens = local_instant(day, start_minute, tz)
            closes = closing_instant(day, end_minute, tz)
            if closes <= range_start or (opens is not None and opens >= range_end):
                continue
            yield day, opens, closes, start_minute, end_minute


def free_slots(policy, rules, overrides, busy, active_starts, range_start, range_end, duration, now):
    """Candidate slots minus notice/horizon, busy intervals (with buffers) and daily/weekly limits.

    ``busy``: (start, end) intervals the tutor cannot work in (buffered bookings, calendar blocks);
    ``active_starts``: start instants of the tutor's active bookings, counted against the limits.

    Same slots as testing every candidate of ``candidate_days`` against a ``BusyIndex``, computed per
    stretch of hours: a day at its limit is skipped whole, the zone is consulted once per stretch (per
    slot only on a day whose hours contain an offset change), and the busy intervals, turned into ranges of
    blocked start instants, are walked once per stretch (``_sweep``; a bisect per start on an offset-change
    day).
    """
    tz = ZoneInfo(policy.zone)
    earliest = max(range_start, now + timedelta(minutes=policy.min_notice))
    latest = min(range_end, now + timedelta(days=policy.max_days_ahead))
    if earliest >= latest:
        return []
    length = timedelta(minutes=duration)
    step = policy.slot_interval
    step_delta = timedelta(minutes=step)
    lows, highs = BusyIndex(busy).blocked_starts(length, timedelta(minutes=policy.buffer_before),
                                                 timedelta(minutes=policy.buffer_after))
    per_day, per_week = _limit_counts(policy, tz, active_starts)
    limited = bool(per_day or per_week)
    result = []
    append = result.append
    ascending = True  # each run of _sweep ascends; checked where one run meets the previous one
    for day, opens, closes, start_minute, end_minute in _open_hours(policy, tz, rules, overrides, earliest, latest):
        if limited and _day_is_full(policy, day, per_day, per_week):
            continue
        if opens is not None and closes - opens == timedelta(minutes=end_minute - start_minute):
            # No offset change inside these hours: starts are the opening instant plus whole steps.
            start = opens
            if earliest > opens:
                start = opens + step_delta * -((opens - earliest) // step_delta)
            mark = len(result)
            _sweep(start, min(closes - length, latest - _TICK), step_delta, length, lows, highs, append)
            if mark and mark < len(result) and not result[mark - 1] < result[mark]:
                ascending = False
            continue
        ascending = None  # an offset-change day: checked whole below
        _wall_clock_free(_wall_clock_slots(day, start_minute, end_minute, closes, tz, step, length), earliest,
                         latest, lows, highs, append)
    if ascending or (ascending is None and all(map(operator.lt, result, islice(result, 1, None)))):
        return result  # already ascending without repeats (the usual case: days and hours come in order)
    result.sort()
    return _dedupe(result)


_TICK = timedelta(microseconds=1)


def _wall_clock_free(slots, earliest, latest, lows, highs, append):
    """Append the slots of an offset-change day that start in [earliest, latest) and are not blocked (a bisect
    per start: the last i with lows[i] < start blocks it when start < highs[i])."""
    for start, end in slots:
        if earliest <= start < latest:
            index = bisect.bisect_left(lows, start) - 1
            if index < 0 or highs[index] <= start:
                append((start, end))


def _sweep(start, last_start, step, length, lows, highs, append):
    """Append (s, s + length) for s = start, start + step, … up to last_start, except blocked starts.

    Same starts as testing each one against the last i with lows[i] < s (blocked when s < highs[i]; see
    BusyIndex.blocked_starts), walking the ascending lists once: the starts up to the next lows[i] are free,
    the ones inside (lows[i], highs[i]) are stepped over in one jump to the first start at or after highs[i].
    """
    count = len(lows)
    index = max(bisect.bisect_left(lows, start) - 1, 0)
    while True:
        while index < count and lows[index] < start:
            high = highs[index]
            if high > start:
                start += step * -((start - high) // step)
            index += 1
        stop = lows[index] if index < count and lows[index] < last_start else last_start
        while start <= stop:
            append((start, start + length))
            start += step
        if start > last_start:
            return
