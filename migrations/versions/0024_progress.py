"""progress: learning goals and session notes

Revision ID: 0025
Revises: 0022

- ``learning_goals``: a student's goal in a subject (a target level, hours or both, by a date).
- ``session_notes``: the tutor's note on a completed session (topics, homework, a 1–5 progress mark), one per
  booking, with copies of the booking's participants, subject and start for the dashboards.
"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
LEVELS = "'primary', 'secondary', 'university', 'professional'"


def _fk(table, column, target):
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete="CASCADE")


def upgrade():
    op.create_table(
        "learning_goals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("target_level", sa.String(length=20), nullable=True),
        sa.Column("target_hours", sa.Integer(), nullable=True),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("target_level IS NOT NULL OR target_hours IS NOT NULL",
                           name=op.f("ck_learning_goals_has_target")),
        sa.CheckConstraint(f"target_level IS NULL OR target_level IN ({LEVELS})",
                           name=op.f("ck_learning_goals_level_known")),
        sa.CheckConstraint("target_hours IS NULL OR (target_hours BETWEEN 1 AND 1000)",
                           name=op.f("ck_learning_goals_hours_range")),
        _fk("learning_goals", "student_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_goals")),
    )
    op.create_index("ix_learning_goals_student", "learning_goals", ["student_id", "id"])
    op.create_table(
        "session_notes",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("session_at", TIME, nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("homework", sa.Text(), nullable=False),
        sa.Column("progress_mark", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("progress_mark BETWEEN 1 AND 5", name=op.f("ck_session_notes_mark_range")),
        _fk("session_notes", "booking_id", "bookings"),
        _fk("session_notes", "tutor_id", "users"),
        _fk("session_notes", "student_id", "users"),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_session_notes")),
    )
    op.create_index("ix_session_notes_student_session", "session_notes", ["student_id", "session_at"])
    op.create_index("ix_session_notes_tutor_session", "session_notes", ["tutor_id", "session_at"])


def downgrade():
    op.drop_index("ix_session_notes_tutor_session", table_name="session_notes")
    op.drop_index("ix_session_notes_student_session", table_name="session_notes")
    op.drop_table("session_notes")
    op.drop_index("ix_learning_goals_student", table_name="learning_goals")
    op.drop_table("learning_goals")
