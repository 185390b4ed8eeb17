"""payments: disputes of a session's payment (issue 15, item 5)

Revision ID: 0019
Revises: 0018

- ``disputes``: a student's dispute of the money held in escrow for a session (reason, details, the window it
  froze), one open per cause (partial unique index), resolved by an admin's split or closed when the money was
  settled another way.
- ``dispute_responses``: the tutor's answers.
- ``dispute_evidence``: both parties' files (stored in the uploads storage; the rows keep the keys).
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

REASONS = "reason IN ('tutor_no_show', 'session_cut_short', 'quality', 'technical_problems', 'not_as_described', " \
          "'other')"


def upgrade():
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cause_type", sa.String(length=40), nullable=False),
        sa.Column("cause_id", sa.BigInteger(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("percent_to_student", sa.SmallInteger(), nullable=True),
        sa.Column("resolution_note", sa.String(length=2000), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settle_transaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('open', 'resolved', 'closed')", name=op.f("ck_disputes_state_known")),
        sa.CheckConstraint(REASONS, name=op.f("ck_disputes_reason_known")),
        sa.CheckConstraint("percent_to_student IS NULL OR percent_to_student BETWEEN 0 AND 100",
                           name=op.f("ck_disputes_percent_in_range")),
        sa.CheckConstraint("(state = 'resolved') = (percent_to_student IS NOT NULL)",
                           name=op.f("ck_disputes_resolved_has_split")),
        sa.ForeignKeyConstraint(["hold_id"], ["payment_holds.id"], name=op.f("fk_disputes_hold_id_payment_holds"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["student_id"], ["users.id"], name=op.f("fk_disputes_student_id_users"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["tutor_id"], ["users.id"], name=op.f("fk_disputes_tutor_id_users"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["users.id"], name=op.f("fk_disputes_resolved_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["settle_transaction_id"], ["ledger_transactions.id"],
                                name=op.f("fk_disputes_settle_transaction_id_ledger_transactions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    op.create_index("uq_disputes_open_cause", "disputes", ["cause_type", "cause_id"], unique=True,
                    postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'"))
    op.create_index("ix_disputes_state", "disputes", ["state", "id"])
    op.create_index("ix_disputes_student", "disputes", ["student_id", "id"])
    op.create_index("ix_disputes_tutor", "disputes", ["tutor_id", "id"])
    op.create_index(op.f("ix_disputes_hold_id"), "disputes", ["hold_id"])
    op.create_table(
        "dispute_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"], name=op.f("fk_dispute_responses_dispute_id_disputes"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_dispute_responses_author_id_users"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_responses")),
    )
    op.create_index(op.f("ix_dispute_responses_dispute_id"), "dispute_responses", ["dispute_id"])
    op.create_table(
        "dispute_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("uploader_id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=12), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("party IN ('student', 'tutor')", name=op.f("ck_dispute_evidence_party_known")),
        sa.CheckConstraint("size > 0", name=op.f("ck_dispute_evidence_size_positive")),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"], name=op.f("fk_dispute_evidence_dispute_id_disputes"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["response_id"], ["dispute_responses.id"],
                                name=op.f("fk_dispute_evidence_response_id_dispute_responses"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["uploader_id"], ["users.id"], name=op.f("fk_dispute_evidence_uploader_id_users"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_evidence")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_dispute_evidence_storage_key")),
    )
    op.create_index(op.f("ix_dispute_evidence_dispute_id"), "dispute_evidence", ["dispute_id"])


def downgrade():
    op.drop_table("dispute_evidence")
    op.drop_table("dispute_responses")
    op.drop_table("disputes")
