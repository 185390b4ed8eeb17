"""free_slots (per-stretch sweep) against a plain reference: every candidate tested against every busy interval."""
import random
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.scheduling.slots import Policy, candidate_days, free_slots, local_week
from tests.scheduling.conftest import utc


def reference_free_slots(policy, rules, overrides, busy, active_starts, range_start, range_end, duration, now):
    """The definition, slowly: candidates minus notice/horizon, buffered overlaps and daily/weekly limits."""
    tz = ZoneInfo(policy.zone)
    earliest = max(range_start, now + timedelta(minutes=policy.min_notice))
    latest = min(range_end, now + timedelta(days=policy.max_days_ahead))
    if earliest >= latest:
        return []
    before, after = timedelta(minutes=policy.buffer_before), timedelta(minutes=policy.buffer_after)
    per_day, per_week = {}, {}
    if policy.daily_limit is not None or policy.weekly_limit is not None:
        for start in active_starts:
            day = start.astimezone(tz).date()
            per_day[day] = per_day.get(day, 0) + 1
            per_week[local_week(day)] = per_week.get(local_week(day), 0) + 1
    result = set()
    for day, start, end in candidate_days(policy, rules, overrides, earliest, latest, duration):
        if any(b_start < end + after and b_end > start - before for b_start, b_end in busy):
            continue
        if per_day or per_week:
            if policy.daily_limit is not None and per_day.get(day, 0) >= policy.daily_limit:
                continue
            if policy.weekly_limit is not None and per_week.get(local_week(day), 0) >= policy.weekly_limit:
                continue
        result.add((start, end))
    return sorted(result)


def random_case(rng, zone):
    interval = rng.choice((5, 15, 30, 60))
    duration = rng.choice((15, 30, 45, 60, 90))
    policy = Policy(zone=zone, session_lengths=(duration,), slot_interval=interval,
                    buffer_before=rng.choice((0, 5, 15)), buffer_after=rng.choice((0, 10, 30)),
                    min_notice=rng.choice((0, 90, 720)), max_days_ahead=rng.choice((10, 30, 60)),
                    daily_limit=rng.choice((None, 1, 2)), weekly_limit=rng.choice((None, 3)))
    rules = []
    for weekday in range(7):
        minute = rng.randrange(0, 180)
        while minute < 1400 and rng.random() < 0.7:
            end = min(1440, minute + rng.randrange(30, 300))
            rules.append((weekday, minute, end))
            minute = end + rng.randrange(1, 120)
    now = utc(2026, 2, 20, rng.randrange(24), rng.choice((0, 7, 30)))
    overrides = []
    for offset in rng.sample(range(60), 6):
        day = date(2026, 2, 20) + timedelta(days=offset)
        overrides.append((day, None, None) if rng.random() < 0.5 else (day, 60 * rng.randrange(0, 12), 60 * rng.randrange(13, 24)))
    busy, starts = [], []
    for _ in range(rng.randrange(0, 60)):
        start = now + timedelta(minutes=rng.randrange(0, 60 * 24 * 50))
        busy.append((start, start + timedelta(minutes=rng.randrange(5, 300))))
        if rng.random() < 0.5:
            starts.append(start)
    return policy, rules, overrides, busy, starts, now


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo", "Europe/London", "Australia/Lord_Howe", "UTC"])
def test_free_slots_match_the_reference(zone):
    rng = random.Random(zone)
    compared = non_empty = 0
    for _ in range(40):
        policy, rules, overrides, busy, starts, now = random_case(rng, zone)
        # Windows across both 2026 DST changes (8 March and 1 November in New York, 29 March in London).
        for start in (now, utc(2026, 3, 5), utc(2026, 10, 28)):
            end = start + timedelta(days=rng.choice((1, 7, 40)))
            moved = now if start == now else start - timedelta(hours=20)
            shift = start - now
            near_busy = busy + [(a + shift, b + shift) for a, b in busy]
            near_starts = starts + [a + shift for a in starts]
            got = free_slots(policy, rules, overrides, near_busy, near_starts, start, end, policy.session_lengths[0],
                             moved)
            assert got == reference_free_slots(policy, rules, overrides, near_busy, near_starts, start, end,
                                               policy.session_lengths[0], moved)
            compared += 1
            non_empty += bool(got)
    assert non_empty > compared // 2  # the cases exercise real slots, not only empty answers


def test_sweep_matches_the_per_start_rule_on_every_alignment():
    """_sweep against its definition (blocked when lows[i] < s < highs[i] for the last i with lows[i] < s),
    on integers, so starts fall exactly on interval bounds, just inside and just outside them."""
    import bisect

    from app.scheduling.slots import BusyIndex, _sweep

    rng = random.Random(7)
    for _ in range(3000):
        step, length = rng.choice((1, 2, 3, 5)), rng.randrange(1, 8)
        busy = []
        for _ in range(rng.randrange(0, 8)):
            low = rng.randrange(-10, 60)
            busy.append((low, low + rng.randrange(1, 12)))
        lows, highs = BusyIndex(busy).blocked_starts(length, rng.randrange(0, 3), rng.randrange(0, 3))
        start = rng.randrange(-5, 30)
        last_start = start + rng.randrange(-3, 50)
        got = []
        _sweep(start, last_start, step, length, lows, highs, got.append)
        expected = []
        for s in range(start, last_start + 1, step):
            index = bisect.bisect_left(lows, s) - 1
            if index < 0 or highs[index] <= s:
                expected.append((s, s + length))
        assert got == expected, (start, last_start, step, lows, highs)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"])
def test_memoised_local_instant_answers_as_computed(zone):
    from app.scheduling.slots import local_instant

    tz = ZoneInfo(zone)
    for offset in range(-3, 400, 1):
        day = date(2026, 1, 1) + timedelta(days=offset)
        for minute in (0, 60, 90, 120, 150, 179, 180, 600, 1439, 1440):
            expected = local_instant.__wrapped__(day, minute, tz)
            assert local_instant(day, minute, tz) == expected
            assert local_instant(day, minute, tz) == expected  # answered from the memo the second time


def test_overlapping_hours_still_come_back_sorted_without_repeats():
    # The API refuses overlapping rules, but expansion must not depend on it: the second stretch starts
    # before the first one ends, so the runs meet out of order and repeat slots.
    policy = Policy(zone="Europe/Paris", session_lengths=(60,), slot_interval=30, min_notice=0, max_days_ahead=30)
    rules = [(0, 540, 720), (0, 600, 780), (1, 600, 660), (1, 540, 700)]
    now = utc(2026, 3, 1)
    args = (policy, rules, [], [(utc(2026, 3, 2, 10, 10), utc(2026, 3, 2, 10, 40))], [], utc(2026, 3, 1),
            utc(2026, 3, 11), 60, now)
    got = free_slots(*args)
    assert got == reference_free_slots(*args)
    assert got == sorted(set(got)) and len(got) > 10
