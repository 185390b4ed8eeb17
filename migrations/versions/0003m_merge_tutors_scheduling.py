"""Temporary merge point of the tutors and scheduling branches (the lead re-chains revisions at merge time).

Revision ID: 0003m
Revises: 0002, 0003
"""

revision = "0003m"
down_revision = ("0002", "0003")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
