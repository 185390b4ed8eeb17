"""reviews: two-way session reviews, flags, helpful votes, moderation audit, incremental rating stats

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-23 10:15:20.393763

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tutor_rating_monthly',
    sa.Column('tutor_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('sum_overall', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tutor_id'], ['users.id'], name=op.f('fk_tutor_rating_monthly_tutor_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tutor_id', 'month', name=op.f('pk_tutor_rating_monthly'))
    )
    op.create_table('tutor_rating_stats',
    sa.Column('tutor_id', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('sum_clarity', sa.Integer(), nullable=False),
    sa.Column('sum_knowledge', sa.Integer(), nullable=False),
    sa.Column('sum_responsiveness', sa.Integer(), nullable=False),
    sa.Column('sum_punctuality', sa.Integer(), nullable=False),
    sa.Column('sum_overall', sa.Integer(), nullable=False),
    sa.Column('overall_1', sa.Integer(), nullable=False),
    sa.Column('overall_2', sa.Integer(), nullable=False),
    sa.Column('overall_3', sa.Integer(), nullable=False),
    sa.Column('overall_4', sa.Integer(), nullable=False),
    sa.Column('overall_5', sa.Integer(), nullable=False),
    sa.Column('recommend_count', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tutor_id'], ['users.id'], name=op.f('fk_tutor_rating_stats_tutor_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tutor_id', name=op.f('pk_tutor_rating_stats'))
    )
    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('author_role', sa.String(length=10), nullable=False),
    sa.Column('tutor_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('clarity', sa.SmallInteger(), nullable=True),
    sa.Column('knowledge', sa.SmallInteger(), nullable=True),
    sa.Column('responsiveness', sa.SmallInteger(), nullable=True),
    sa.Column('punctuality', sa.SmallInteger(), nullable=True),
    sa.Column('overall', sa.SmallInteger(), nullable=True),
    sa.Column('preparedness', sa.SmallInteger(), nullable=True),
    sa.Column('engagement', sa.SmallInteger(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('would_recommend', sa.Boolean(), nullable=True),
    sa.Column('private_note', sa.Text(), nullable=True),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('queued', sa.Boolean(), nullable=False),
    sa.Column('blocklisted', sa.Boolean(), nullable=False),
    sa.Column('flag_count', sa.Integer(), nullable=False),
    sa.Column('helpful_count', sa.Integer(), nullable=False),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("author_role IN ('student', 'tutor')", name=op.f('ck_reviews_author_role_known')),
    sa.CheckConstraint("status IN ('visible', 'hidden', 'removed')", name=op.f('ck_reviews_status_known')),
    sa.CheckConstraint('clarity IS NULL OR (clarity BETWEEN 1 AND 5)', name=op.f('ck_reviews_clarity_range')),
    sa.CheckConstraint('engagement IS NULL OR (engagement BETWEEN 1 AND 5)', name=op.f('ck_reviews_engagement_range')),
    sa.CheckConstraint('knowledge IS NULL OR (knowledge BETWEEN 1 AND 5)', name=op.f('ck_reviews_knowledge_range')),
    sa.CheckConstraint('overall IS NULL OR (overall BETWEEN 1 AND 5)', name=op.f('ck_reviews_overall_range')),
    sa.CheckConstraint('preparedness IS NULL OR (preparedness BETWEEN 1 AND 5)', name=op.f('ck_reviews_preparedness_range')),
    sa.CheckConstraint('punctuality IS NULL OR (punctuality BETWEEN 1 AND 5)', name=op.f('ck_reviews_punctuality_range')),
    sa.CheckConstraint('responsiveness IS NULL OR (responsiveness BETWEEN 1 AND 5)', name=op.f('ck_reviews_responsiveness_range')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_reviews_author_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_reviews_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_reviews_student_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tutor_id'], ['users.id'], name=op.f('fk_reviews_tutor_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('booking_id', 'author_id', name='uq_reviews_booking_author')
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index('ix_reviews_queue', ['queued', 'created_at'], unique=False)
        batch_op.create_index('ix_reviews_student', ['student_id', 'author_role'], unique=False)
        batch_op.create_index('ix_reviews_tutor_public', ['tutor_id', 'author_role', 'released_at'], unique=False)
        batch_op.create_index('ix_reviews_unreleased_window', ['released_at', 'window_closes_at'], unique=False)

    op.create_table('review_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], name=op.f('fk_review_flags_review_id_reviews'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_flags_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_flags')),
    sa.UniqueConstraint('review_id', 'user_id', name='uq_review_flags_review_user')
    )
    op.create_table('review_helpful_votes',
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], name=op.f('fk_review_helpful_votes_review_id_reviews'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_helpful_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('review_id', 'user_id', name=op.f('pk_review_helpful_votes'))
    )
    op.create_table('review_moderation_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('admin_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("action IN ('hide', 'restore', 'remove')", name=op.f('ck_review_moderation_events_action_known')),
    sa.ForeignKeyConstraint(['admin_id'], ['users.id'], name=op.f('fk_review_moderation_events_admin_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], name=op.f('fk_review_moderation_events_review_id_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_moderation_events'))
    )
    with op.batch_alter_table('review_moderation_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_moderation_events_review_id'), ['review_id'], unique=False)



def downgrade():
    with op.batch_alter_table('review_moderation_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_moderation_events_review_id'))

    op.drop_table('review_moderation_events')
    op.drop_table('review_helpful_votes')
    op.drop_table('review_flags')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_reviews_unreleased_window')
        batch_op.drop_index('ix_reviews_tutor_public')
        batch_op.drop_index('ix_reviews_student')
        batch_op.drop_index('ix_reviews_queue')

    op.drop_table('reviews')
    op.drop_table('tutor_rating_stats')
    op.drop_table('tutor_rating_monthly')
