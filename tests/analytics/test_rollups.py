"""Rollups: idempotent, rollups + today live = direct computation, the nightly job, the backfill command."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.analytics.conftest import NOW, TODAY
from tests.factories import BookingFactory, UserFactory
from tests.scheduling.conftest import utc

REPORTS = ("engagement", "matching", "marketplace", "quality")
FIRST = date(2026, 3, 1)


def _stored():
    from app.analytics.models import DailyMetric
    from app.extensions import db

    rows = db.session.execute(sa.select(DailyMetric.day, DailyMetric.metric, DailyMetric.subject,
                                        DailyMetric.currency, DailyMetric.value)).all()
    return sorted(tuple(row) for row in rows)


def _reports(group="day"):
    from app.analytics import services

    return {name: services.report(name, utc(2026, 3, 1), utc(2026, 3, 11), group).as_dict() for name in REPORTS}


def _rollup(first, last):
    from app.analytics import services
    from app.common.transactions import unit_of_work

    with unit_of_work():
        return services.rollup(first, last)


def test_rollup_twice_leaves_the_same_rows(platform):
    _rollup(FIRST, TODAY - timedelta(days=1))
    once = _stored()
    assert ("2026-03-03", "requested", "calculus", "", 1) in [(d.isoformat(), *rest) for d, *rest in once]
    _rollup(FIRST, TODAY - timedelta(days=1))
    assert _stored() == once


def test_rerunning_a_day_replaces_it(platform):
    _rollup(date(2026, 3, 4), date(2026, 3, 4))
    BookingFactory(tutor=platform["tutor"], student=platform["s1"], subject="physics", state="requested",
                   created_at=utc(2026, 3, 4, 20), updated_at=utc(2026, 3, 4, 20), confirmed_at=None,
                   start_at=utc(2026, 3, 20, 9))
    _rollup(date(2026, 3, 4), date(2026, 3, 4))
    physics = [row for row in _stored() if row[1] == "requested" and row[2] == "physics"]
    assert [row[4] for row in physics] == [2]


@pytest.mark.parametrize("group", ["day", "week", "month"])
def test_rollups_plus_live_today_equal_the_direct_computation(platform, group):
    direct = _reports(group)  # nothing rolled up: every day computed from the sources
    _rollup(FIRST, TODAY - timedelta(days=1))
    assert _reports(group) == direct


def test_per_arm_rollups_plus_live_today_equal_the_direct_computation(platform):
    """The per-arm funnel goes through the same path: stored per arm, read back, today's learned response live."""
    direct = _reports()["matching"]
    _rollup(FIRST, TODAY - timedelta(days=1))
    stored = {(day.isoformat(), metric, subject): value for day, metric, subject, _c, value in _stored()}
    assert stored[("2026-03-02", "shown_fixed", "calculus")] == 3
    assert stored[("2026-03-04", "match_requested_learned", "physics")] == 1
    rolled = _reports()["matching"]
    assert rolled == direct
    calculus = [t for t in rolled["totals"] if t["subject"] == "calculus"][0]
    assert (calculus["shown_fixed"], calculus["shown_learned"], calculus["match_requested_learned"]) == (3, 3, 1)


def test_rollups_and_reports_leave_matchings_log_alone(platform):
    from app.extensions import db
    from app.matching.models import MatchImpression, MatchOutcome, MatchRequestLog

    def log():
        return [sorted(tuple(row) for row in db.session.execute(sa.select(*model.__table__.columns)).all())
                for model in (MatchRequestLog, MatchImpression, MatchOutcome)]

    before = log()
    _rollup(FIRST, TODAY - timedelta(days=1))
    _reports()
    db.session.expire_all()
    assert log() == before and all(before)


def test_reports_read_the_rollups_for_past_days(platform):
    """A rolled-up day is read from the summary table (not recomputed); today stays live."""
    from app.analytics.models import DailyMetric
    from app.extensions import db

    _rollup(FIRST, TODAY - timedelta(days=1))
    db.session.execute(sa.update(DailyMetric).where(DailyMetric.metric == "signups").values(value=40))
    db.session.commit()
    BookingFactory(tutor=platform["tutor"], student=platform["s1"], subject="calculus", state="requested",
                   created_at=NOW - timedelta(hours=1), updated_at=NOW - timedelta(hours=1), confirmed_at=None,
                   start_at=NOW + timedelta(days=3))
    reports = _reports()
    assert reports["engagement"]["totals"][0]["signups"] == 80  # 2 rolled-up days, as stored
    calculus = [t for t in reports["matching"]["totals"] if t["subject"] == "calculus"][0]
    assert calculus["requested"] == 4  # today's new request, live


def test_today_cannot_be_rolled_up(platform):
    from app.common.errors import Invalid

    with pytest.raises(Invalid):
        _rollup(TODAY, TODAY)


def test_nightly_job_rolls_up_the_due_days_once(platform):
    from app.analytics.models import RollupDay
    from app.extensions import db
    from jobs import tasks

    done = tasks.rollup_analytics()
    assert done == [(TODAY - timedelta(days=n)).isoformat() for n in range(7, 0, -1)]
    assert tasks.rollup_analytics() == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RollupDay)) == 7


def test_nightly_job_is_scheduled():
    from jobs import schedule, tasks

    assert any(job[0] is tasks.rollup_analytics for job in schedule.PERIODIC_JOBS)


def test_backfill_command(app, platform):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["analytics", "backfill", "--from", "2026-03-01"])
    assert result.exit_code == 0, result.output
    assert "Rolled up 9 day(s)." in result.output
    first = _stored()
    again = runner.invoke(args=["analytics", "backfill", "--from", "2026-03-01", "--to", "2026-03-09"])
    assert again.exit_code == 0 and _stored() == first
    assert ("signups", 1) in [(row[1], row[4]) for row in first if row[0] == date(2026, 3, 2)]


def test_backfill_refuses_today_and_bad_dates(app, platform):
    runner = app.test_cli_runner()
    today = runner.invoke(args=["analytics", "backfill", "--from", TODAY.isoformat()])
    assert today.exit_code != 0 and "before" in today.output
    bad = runner.invoke(args=["analytics", "backfill", "--from", "03/01/2026"])
    assert bad.exit_code != 0


def test_backfill_spans_several_chunks(app, clock):
    from app.analytics import services
    from app.analytics.models import RollupDay
    from app.common.transactions import unit_of_work
    from app.extensions import db

    UserFactory(created_at=utc(2026, 1, 15, 8))
    with unit_of_work():
        assert services.backfill(date(2026, 1, 1)) == (TODAY - date(2026, 1, 1)).days
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RollupDay)) == 68
    assert (date(2026, 1, 15), "signups", "", "", 1) in _stored()
