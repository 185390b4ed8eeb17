"""PostgreSQL: slot_inputs(), the one read of a slot request, as a PL/pgSQL function (its plan is cached)

Revision ID: 0011
Revises: 0008

A slot request reads the tutor's policy, weekly rules, overrides, active bookings (as tutor and as student)
and calendar busy blocks in one UNION ALL (app.scheduling.services.slot_inputs). Sent as SQL, PostgreSQL
parsed, analysed and planned that statement on every call: psycopg forgets its prepared statements at every
ROLLBACK, and a read-only request ends with one. A PL/pgSQL function keeps the plan of its query for the
life of the server connection whatever the transactions do, so a call costs the execution only (measured with
psycopg on the slots bench data, load ~2: BEGIN + the UNION ALL 1.6–1.9 ms → BEGIN + the call 0.5–0.6 ms).

The function returns the rows the portable query of services._slot_inputs_query returns (same columns, same
rows; tests/scheduling/test_slot_inputs_function.py compares the two on PostgreSQL), which SQLite keeps
using. Active states are spelled out as in app.scheduling.models.ACTIVE_STATES. PostgreSQL only.
"""
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

SLOT_INPUTS = """
CREATE OR REPLACE FUNCTION slot_inputs(
    p_tutor integer, p_first_day date, p_last_day date, p_busy_start timestamptz, p_busy_end timestamptz,
    p_limits_start timestamptz, p_limits_end timestamptz)
RETURNS TABLE (kind text, i1 integer, i2 integer, i3 integer, i4 integer, i5 integer, i6 integer, i7 integer,
               i8 integer, day date, t1 timestamptz, t2 timestamptz, t3 timestamptz, t4 timestamptz,
               s1 text, s2 text, s3 text)
LANGUAGE plpgsql STABLE AS $function$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT 'p'::text, st.tutor_id, st.slot_interval_minutes, st.buffer_before_minutes, st.buffer_after_minutes,
           st.min_notice_minutes, st.max_days_ahead, st.daily_limit, st.weekly_limit, NULL::date,
           NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz,
           u.timezone::text, st.timezone::text, st.session_lengths::text
    FROM users u LEFT JOIN scheduling_settings st ON st.tutor_id = u.id
    WHERE u.id = p_tutor AND u.is_active IS TRUE
      AND EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id AND ur.role = 'tutor')
    UNION ALL
    SELECT 'r'::text, ar.weekday::integer, ar.start_minute::integer, ar.end_minute::integer, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM availability_rules ar
    WHERE ar.tutor_id = p_tutor
    UNION ALL
    SELECT 'o'::text, NULL, ao.start_minute::integer, ao.end_minute::integer, NULL, NULL, NULL, NULL, NULL,
           ao.date, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM availability_overrides ao
    WHERE ao.tutor_id = p_tutor AND ao.date >= p_first_day AND ao.date <= p_last_day
    UNION ALL
    SELECT 'k'::text, b.tutor_id, b.student_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           b.start_at, b.end_at, b.tutor_range_start, b.tutor_range_end, NULL, NULL, NULL
    FROM bookings b
    WHERE b.tutor_id = p_tutor AND b.state IN ('requested', 'confirmed', 'in_progress')
      AND ((b.tutor_range_start < p_busy_end AND b.tutor_range_end > p_busy_start)
           OR (b.start_at >= p_limits_start AND b.start_at < p_limits_end))
    UNION ALL
    SELECT 'k'::text, b.tutor_id, b.student_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           b.start_at, b.end_at, b.tutor_range_start, b.tutor_range_end, NULL, NULL, NULL
    FROM bookings b
    WHERE b.student_id = p_tutor AND b.state IN ('requested', 'confirmed', 'in_progress')
      AND b.start_at < p_busy_end AND b.end_at > p_busy_start
    UNION ALL
    SELECT 'b'::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           bb.start_at, bb.end_at, NULL, NULL, NULL, NULL, NULL
    FROM busy_blocks bb
    WHERE bb.user_id = p_tutor AND bb.start_at < p_busy_end AND bb.end_at > p_busy_start;
END
$function$
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SLOT_INPUTS)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS slot_inputs(integer, date, date, timestamptz, timestamptz, "
                   "timestamptz, timestamptz)")
