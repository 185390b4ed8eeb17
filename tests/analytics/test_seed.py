"""The demo's analytics: a year of figures with seasonality behind every report, the same on a second run."""
from datetime import timedelta

import sqlalchemy as sa

from app.common.time import utcnow


def _rows():
    from app.analytics.models import DailyMetric
    from app.extensions import db

    return db.session.execute(sa.select(DailyMetric.day, DailyMetric.metric, DailyMetric.subject,
                                        DailyMetric.currency, DailyMetric.value)
                              .order_by(DailyMetric.day, DailyMetric.metric, DailyMetric.subject)).all()


def test_seed_fills_a_year_of_every_report_and_is_repeatable(app, db):
    from app.analytics import services
    from app.analytics.seed import seed_analytics
    from app.common.transactions import unit_of_work
    from tests.factories import UserFactory

    people = [UserFactory() for _ in range(3)]
    with unit_of_work():
        seed_analytics(people, ["calculus", "physics", "japanese"])
    first = _rows()
    with unit_of_work():
        seed_analytics(people, ["calculus", "physics", "japanese"])
    assert _rows() == first
    now = utcnow()
    since = now - timedelta(days=365)
    for name in services.REPORTS:
        report = services.report(name, since, now, "month")
        figures = report.totals.drop(columns=[c for c in ("subject",) if c in report.totals])
        assert (figures.select_dtypes("number").sum() > 0).any(), name
    engagement = services.report("engagement", since, now, "month").periods
    summer = engagement[engagement["period_start"].dt.month.isin([7, 8])]["avg_daily_active_users"]
    autumn = engagement[engagement["period_start"].dt.month.isin([10, 11])]["avg_daily_active_users"]
    assert len(summer) and len(autumn) and summer.mean() < autumn.mean()  # the summer dip
    funnel = services.report("matching", since, now, "month").totals[["shown", "match_requested",
                                                                     "match_completed"]].sum()
    assert funnel["shown"] > funnel["match_requested"] >= funnel["match_completed"] > 0
    arms = services.report("matching", since, now, "month").totals
    for column in ("shown", "match_requested", "match_completed"):  # both arms, adding up to the funnel
        assert arms[f"{column}_fixed"].sum() > 0 and arms[f"{column}_learned"].sum() > 0, column
        assert (arms[f"{column}_fixed"] + arms[f"{column}_learned"] == arms[column]).all(), column
    marketplace = services.report("marketplace", since, now, "month").totals
    assert marketplace["gmv_usd_minor"].iloc[0] > 0
    assert services.active_days([p.id for p in people]) == services.active_days([p.id for p in people])


def test_demo_funnel_counts_the_demo_match_responses(app, db):
    """`make run`'s seed: the match log comes first, so the last 30 rolled-up days count its tutors shown, under
    the subjects the demo tutors teach."""
    from app.analytics import services
    from app.matching.models import MatchImpression, MatchRequestLog
    from app.seed import seed_demo

    seed_demo()
    now = utcnow()
    since = (now - timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)
    shown = services.report("matching", since, now, "week").totals.set_index("subject")["shown"]
    logged = db.session.scalar(sa.select(sa.func.count()).select_from(MatchImpression)
                               .join(MatchRequestLog, MatchRequestLog.id == MatchImpression.request_id)
                               .where(MatchRequestLog.created_at >= since))
    assert shown.sum() == logged > 0
    totals = services.report("matching", since, now, "week").totals
    assert totals["shown_fixed"].sum() + totals["shown_learned"].sum() == logged
    from app.matching import learning  # each response logged under its student's arm (the demo's share)

    arms = db.session.execute(sa.select(MatchRequestLog.student_id, MatchRequestLog.arm).distinct()).all()
    assert arms and all(arm == learning.assign_arm(student, learning.learned_share()) for student, arm in arms)
    assert "simulated" not in shown.index
