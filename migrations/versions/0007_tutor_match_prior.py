"""tutor_subjects.match_prior and tutor_profiles.listed, kept by triggers, for index-only search and matching

Revision ID: 0007
Revises: 0006

tutor_profiles.listed = the tutor appears publicly (active account holding the tutor role; what
app.tutors.services.listed_tutors_filter used to check with two probes per row into users and user_roles).
Triggers on tutor_profiles (insert), users (is_active) and user_roles (any change) keep it. PostgreSQL's
ix_tutor_profiles_rank becomes partial (WHERE listed), so the "best rated" page is an index-only walk.

Matching generates candidates by walking the tutors of one subject best prior first (two indexes below) instead
of pre-scoring every tutor of the subject. The prior is a function of the profile only:

    0.5 * coalesce(rating_bayes, rating_avg, 2.5) / 5 + 0.25 * verified + 0.25 * min(years_experience, 10) / 10

Database triggers keep the copy right whoever writes (ORM, Core bulk updates of the reviews domain, COPY):
inserting a tutor_subjects row reads its profile's prior; updating those four profile columns rewrites the
tutor's rows. PostgreSQL and SQLite each get their own trigger syntax. NB for later SQLite migrations: a
batch (copy-and-move) alter of tutor_profiles, tutor_subjects, users or user_roles drops these triggers;
recreate them after it.
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def prior_sql(row):
    """The prior of profile ``row`` (an alias or NEW) in SQL both dialects understand; mirrors app.matching."""
    return (f"(0.5 * coalesce({row}.rating_bayes, {row}.rating_avg, 2.5) / 5.0"
            f" + CASE WHEN {row}.verified THEN 0.25 ELSE 0.0 END"
            f" + 0.25 * (CASE WHEN {row}.years_experience >= 10 THEN 10 ELSE {row}.years_experience END) / 10.0)")


PROFILE_COLUMNS = ("rating_bayes", "rating_avg", "verified", "years_experience")


def listed_sql(user_id):
    """Whether user ``user_id`` is a listed tutor: active account and tutor role (both dialects)."""
    return (f"(EXISTS (SELECT 1 FROM users u WHERE u.id = {user_id} AND u.is_active)"
            f" AND EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = {user_id} AND r.role = 'tutor'))")

POSTGRES_UP = [
    f"""CREATE FUNCTION tutor_subjects_set_match_prior() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.match_prior := coalesce((SELECT {prior_sql('p')} FROM tutor_profiles p WHERE p.user_id = NEW.tutor_id), 0);
    RETURN NEW;
END $$""",
    """CREATE TRIGGER trg_tutor_subjects_match_prior BEFORE INSERT OR UPDATE OF tutor_id ON tutor_subjects
    FOR EACH ROW EXECUTE FUNCTION tutor_subjects_set_match_prior()""",
    f"""CREATE FUNCTION tutor_profiles_sync_match_prior() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tutor_subjects SET match_prior = {prior_sql('NEW')} WHERE tutor_id = NEW.user_id;
    RETURN NULL;
END $$""",
    f"""CREATE TRIGGER trg_tutor_profiles_match_prior AFTER UPDATE OF {', '.join(PROFILE_COLUMNS)} ON tutor_profiles
    FOR EACH ROW WHEN ({' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in PROFILE_COLUMNS)})
    EXECUTE FUNCTION tutor_profiles_sync_match_prior()""",
    f"""CREATE FUNCTION tutor_profiles_set_listed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.listed := {listed_sql('NEW.user_id')};
    RETURN NEW;
END $$""",
    """CREATE TRIGGER trg_tutor_profiles_listed BEFORE INSERT OR UPDATE OF user_id ON tutor_profiles
    FOR EACH ROW EXECUTE FUNCTION tutor_profiles_set_listed()""",
    f"""CREATE FUNCTION tutor_profiles_sync_listed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    uids integer[];
    uid integer;
BEGIN
    IF TG_TABLE_NAME = 'users' THEN
        uids := ARRAY[NEW.id];
    ELSIF TG_OP = 'INSERT' THEN
        uids := ARRAY[NEW.user_id];
    ELSIF TG_OP = 'DELETE' THEN
        uids := ARRAY[OLD.user_id];
    ELSE
        uids := ARRAY[OLD.user_id, NEW.user_id];
    END IF;
    FOREACH uid IN ARRAY uids LOOP
        UPDATE tutor_profiles SET listed = {listed_sql('uid')}
        WHERE user_id = uid AND listed IS DISTINCT FROM {listed_sql('uid')};
    END LOOP;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER trg_users_listed AFTER UPDATE OF is_active ON users FOR EACH ROW
    WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active) EXECUTE FUNCTION tutor_profiles_sync_listed()""",
    """CREATE TRIGGER trg_user_roles_listed AFTER INSERT OR UPDATE OR DELETE ON user_roles FOR EACH ROW
    EXECUTE FUNCTION tutor_profiles_sync_listed()""",
    "DROP INDEX IF EXISTS ix_tutor_profiles_rank",
    "CREATE INDEX ix_tutor_profiles_rank ON tutor_profiles (rating_bayes DESC NULLS LAST, user_id) WHERE listed",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_tutor_profiles_rank",
    "CREATE INDEX ix_tutor_profiles_rank ON tutor_profiles (rating_bayes DESC NULLS LAST, user_id)",
    "DROP TRIGGER IF EXISTS trg_user_roles_listed ON user_roles",
    "DROP TRIGGER IF EXISTS trg_users_listed ON users",
    "DROP FUNCTION IF EXISTS tutor_profiles_sync_listed()",
    "DROP TRIGGER IF EXISTS trg_tutor_profiles_listed ON tutor_profiles",
    "DROP FUNCTION IF EXISTS tutor_profiles_set_listed()",
    "DROP TRIGGER IF EXISTS trg_tutor_profiles_match_prior ON tutor_profiles",
    "DROP FUNCTION IF EXISTS tutor_profiles_sync_match_prior()",
    "DROP TRIGGER IF EXISTS trg_tutor_subjects_match_prior ON tutor_subjects",
    "DROP FUNCTION IF EXISTS tutor_subjects_set_match_prior()",
]
SQLITE_UP = [
    f"""CREATE TRIGGER trg_tutor_subjects_match_prior AFTER INSERT ON tutor_subjects BEGIN
    UPDATE tutor_subjects
    SET match_prior = coalesce((SELECT {prior_sql('p')} FROM tutor_profiles p WHERE p.user_id = NEW.tutor_id), 0)
    WHERE tutor_id = NEW.tutor_id AND subject_id = NEW.subject_id AND level = NEW.level;
END""",
    f"""CREATE TRIGGER trg_tutor_profiles_match_prior AFTER UPDATE OF {', '.join(PROFILE_COLUMNS)} ON tutor_profiles
BEGIN
    UPDATE tutor_subjects SET match_prior = {prior_sql('NEW')} WHERE tutor_id = NEW.user_id;
END""",
    f"""CREATE TRIGGER trg_tutor_profiles_listed AFTER INSERT ON tutor_profiles BEGIN
    UPDATE tutor_profiles SET listed = {listed_sql('NEW.user_id')} WHERE user_id = NEW.user_id;
END""",
    f"""CREATE TRIGGER trg_users_listed AFTER UPDATE OF is_active ON users BEGIN
    UPDATE tutor_profiles SET listed = {listed_sql('NEW.id')} WHERE user_id = NEW.id;
END""",
    f"""CREATE TRIGGER trg_user_roles_listed_insert AFTER INSERT ON user_roles BEGIN
    UPDATE tutor_profiles SET listed = {listed_sql('NEW.user_id')} WHERE user_id = NEW.user_id;
END""",
    f"""CREATE TRIGGER trg_user_roles_listed_delete AFTER DELETE ON user_roles BEGIN
    UPDATE tutor_profiles SET listed = {listed_sql('OLD.user_id')} WHERE user_id = OLD.user_id;
END""",
    f"""CREATE TRIGGER trg_user_roles_listed_update AFTER UPDATE ON user_roles BEGIN
    UPDATE tutor_profiles SET listed = {listed_sql('OLD.user_id')} WHERE user_id = OLD.user_id;
    UPDATE tutor_profiles SET listed = {listed_sql('NEW.user_id')} WHERE user_id = NEW.user_id;
END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS trg_user_roles_listed_update",
    "DROP TRIGGER IF EXISTS trg_user_roles_listed_delete",
    "DROP TRIGGER IF EXISTS trg_user_roles_listed_insert",
    "DROP TRIGGER IF EXISTS trg_users_listed",
    "DROP TRIGGER IF EXISTS trg_tutor_profiles_listed",
    "DROP TRIGGER IF EXISTS trg_tutor_profiles_match_prior",
    "DROP TRIGGER IF EXISTS trg_tutor_subjects_match_prior",
]


def upgrade():
    op.add_column("tutor_subjects", sa.Column("match_prior", sa.Float(), server_default=sa.text("0"), nullable=False))
    op.create_index("ix_tutor_subjects_match_prior", "tutor_subjects", ["subject_id", "match_prior", "tutor_id"])
    op.create_index("ix_tutor_subjects_level_match_prior", "tutor_subjects",
                    ["subject_id", "level", "match_prior", "tutor_id"])
    op.create_index("ix_tutor_subjects_tutor_match_prior", "tutor_subjects", ["tutor_id", "subject_id", "match_prior"])
    op.execute(f"UPDATE tutor_subjects SET match_prior = coalesce((SELECT {prior_sql('p')} FROM tutor_profiles p "
               "WHERE p.user_id = tutor_subjects.tutor_id), 0)")
    op.add_column("tutor_profiles", sa.Column("listed", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(f"UPDATE tutor_profiles SET listed = {listed_sql('tutor_profiles.user_id')}")
    for statement in POSTGRES_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade():
    for statement in POSTGRES_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    with op.batch_alter_table("tutor_profiles", schema=None) as batch_op:
        batch_op.drop_column("listed")
    op.drop_index("ix_tutor_subjects_tutor_match_prior", table_name="tutor_subjects")
    op.drop_index("ix_tutor_subjects_level_match_prior", table_name="tutor_subjects")
    op.drop_index("ix_tutor_subjects_match_prior", table_name="tutor_subjects")
    with op.batch_alter_table("tutor_subjects", schema=None) as batch_op:
        batch_op.drop_column("match_prior")
