"""tutor_subjects carries copies of the profile columns matching scores on (triggers, covering index); PostgreSQL
stores the full-text vector of tutor_profiles (search_vector)

Revision ID: 0012
Revises: 0011

Matching ranks every eligible tutor of a subject exactly (app/matching/services.py). Reading the scoring inputs
from tutor_profiles costs one profile probe per tutor of the subject (~6,000 at 100k tutors, 15+ ms); with copies
of those columns on each tutor_subjects row and, on PostgreSQL, a covering partial index

    ix_tutor_subjects_match ON tutor_subjects (subject_id, currency, rate_cents)
        INCLUDE (tutor_id, level, mode, latitude, longitude, travel_radius_km, verified, years_experience,
                 rating, teaching_styles) WHERE listed

the eligible tutors of a subject (within a budget: one range of the index) are one index-only scan.

Copied columns (written by triggers only, like match_prior in 0007): listed, mode, currency, rate_cents,
latitude, longitude, travel_radius_km, verified, years_experience, teaching_styles, and rating =
coalesce(rating_bayes, rating_avg). The tutor_subjects insert trigger copies them with the prior; the
tutor_profiles update trigger now fires on any of their sources and rewrites the tutor's rows. Replaces the two
match_prior triggers of 0007 (same names), which downgrade restores. NB for later SQLite migrations: a batch
(copy-and-move) alter of tutor_profiles or tutor_subjects drops these triggers; recreate them after it.

PostgreSQL: tutor_profiles.search_vector, a stored generated column holding the expression the GIN full-text
index was built on (app.tutors.models.SEARCH_VECTOR_SQL), indexed instead of the expression. The bitmap heap
scan of a full-text search rechecks its conditions (the jsonb_path_ops language index always asks for a recheck)
and ts_rank_cd ranks every match: with the expression index each recomputed to_tsvector over name, headline and
bio per matching row (~40 us each, twice); the stored vector is read instead. PostgreSQL only (not in the
models; app.common.models.POSTGRES_ONLY_COLUMNS keeps schema comparisons from reporting it).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def prior_sql(row):
    """The prior of profile ``row`` (an alias or NEW), as revision 0007 defined it (copied: a revision never
    imports another)."""
    return (f"(0.5 * coalesce({row}.rating_bayes, {row}.rating_avg, 2.5) / 5.0"
            f" + CASE WHEN {row}.verified THEN 0.25 ELSE 0.0 END"
            f" + 0.25 * (CASE WHEN {row}.years_experience >= 10 THEN 10 ELSE {row}.years_experience END) / 10.0)")


# Revision 0007's match_prior triggers, as it created them: downgrade puts them back.
PRIOR_COLUMNS_0007 = ("rating_bayes", "rating_avg", "verified", "years_experience")
POSTGRES_0007 = [
    f"""CREATE OR REPLACE FUNCTION tutor_subjects_set_match_prior() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.match_prior := coalesce((SELECT {prior_sql('p')} FROM tutor_profiles p WHERE p.user_id = NEW.tutor_id), 0);
    RETURN NEW;
END $$""",
    f"""CREATE OR REPLACE FUNCTION tutor_profiles_sync_match_prior() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tutor_subjects SET match_prior = {prior_sql('NEW')} WHERE tutor_id = NEW.user_id;
    RETURN NULL;
END $$""",
    f"""CREATE TRIGGER trg_tutor_profiles_match_prior AFTER UPDATE OF {', '.join(PRIOR_COLUMNS_0007)} ON tutor_profiles
    FOR EACH ROW WHEN ({' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in PRIOR_COLUMNS_0007)})
    EXECUTE FUNCTION tutor_profiles_sync_match_prior()""",
]
SQLITE_0007 = [
    f"""CREATE TRIGGER trg_tutor_subjects_match_prior AFTER INSERT ON tutor_subjects BEGIN
    UPDATE tutor_subjects
    SET match_prior = coalesce((SELECT {prior_sql('p')} FROM tutor_profiles p WHERE p.user_id = NEW.tutor_id), 0)
    WHERE tutor_id = NEW.tutor_id AND subject_id = NEW.subject_id AND level = NEW.level;
END""",
    f"""CREATE TRIGGER trg_tutor_profiles_match_prior AFTER UPDATE OF {', '.join(PRIOR_COLUMNS_0007)} ON tutor_profiles
BEGIN
    UPDATE tutor_subjects SET match_prior = {prior_sql('NEW')} WHERE tutor_id = NEW.user_id;
END""",
]

# tutor_subjects column -> its source on profile row {p}
COPIES = {
    "listed": "{p}.listed", "mode": "{p}.mode", "currency": "{p}.currency", "rate_cents": "{p}.rate_cents",
    "latitude": "{p}.latitude", "longitude": "{p}.longitude", "travel_radius_km": "{p}.travel_radius_km",
    "verified": "{p}.verified", "years_experience": "{p}.years_experience",
    "rating": "coalesce({p}.rating_bayes, {p}.rating_avg)", "teaching_styles": "{p}.teaching_styles",
}
SOURCES = ("listed", "mode", "currency", "rate_cents", "latitude", "longitude", "travel_radius_km", "verified",
           "years_experience", "rating_bayes", "rating_avg", "teaching_styles")


def copies(row):
    return {column: source.format(p=row) for column, source in COPIES.items()}


def set_list(row):
    return ", ".join([f"match_prior = {prior_sql(row)}"] + [f"{c} = {e}" for c, e in copies(row).items()])


COVERING_INDEX = (
    "CREATE INDEX ix_tutor_subjects_match ON tutor_subjects (subject_id, currency, rate_cents) INCLUDE (tutor_id, "
    "level, mode, latitude, longitude, travel_radius_km, verified, years_experience, rating, teaching_styles) "
    "WHERE listed"
)

POSTGRES_UP = [
    f"""CREATE OR REPLACE FUNCTION tutor_subjects_set_match_prior() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT {prior_sql('p')}, {', '.join(copies('p').values())}
    INTO NEW.match_prior, {', '.join(f'NEW.{c}' for c in COPIES)}
    FROM tutor_profiles p WHERE p.user_id = NEW.tutor_id;
    NEW.match_prior := coalesce(NEW.match_prior, 0);
    NEW.listed := coalesce(NEW.listed, false);
    RETURN NEW;
END $$""",
    f"""CREATE OR REPLACE FUNCTION tutor_profiles_sync_match_prior() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tutor_subjects SET {set_list('NEW')} WHERE tutor_id = NEW.user_id;
    RETURN NULL;
END $$""",
    "DROP TRIGGER IF EXISTS trg_tutor_profiles_match_prior ON tutor_profiles",
    f"""CREATE TRIGGER trg_tutor_profiles_match_prior AFTER UPDATE OF {', '.join(SOURCES)} ON tutor_profiles
    FOR EACH ROW WHEN ({' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in SOURCES)})
    EXECUTE FUNCTION tutor_profiles_sync_match_prior()""",
    f"UPDATE tutor_subjects SET {set_list('p')} FROM tutor_profiles p WHERE p.user_id = tutor_subjects.tutor_id",
    COVERING_INDEX,
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_tutor_subjects_match",
    POSTGRES_0007[0],
    POSTGRES_0007[1],
    "DROP TRIGGER IF EXISTS trg_tutor_profiles_match_prior ON tutor_profiles",
    POSTGRES_0007[2],
]


def _sqlite_profile_lookup(expression):
    return f"(SELECT {expression} FROM tutor_profiles p WHERE p.user_id = NEW.tutor_id)"


SQLITE_UP = [
    "DROP TRIGGER IF EXISTS trg_tutor_subjects_match_prior",
    f"""CREATE TRIGGER trg_tutor_subjects_match_prior AFTER INSERT ON tutor_subjects BEGIN
    UPDATE tutor_subjects
    SET match_prior = coalesce({_sqlite_profile_lookup(prior_sql('p'))}, 0),
        listed = coalesce({_sqlite_profile_lookup('p.listed')}, 0),
        {', '.join(f'{c} = {_sqlite_profile_lookup(e)}' for c, e in copies('p').items() if c != 'listed')}
    WHERE tutor_id = NEW.tutor_id AND subject_id = NEW.subject_id AND level = NEW.level;
END""",
    "DROP TRIGGER IF EXISTS trg_tutor_profiles_match_prior",
    f"""CREATE TRIGGER trg_tutor_profiles_match_prior AFTER UPDATE OF {', '.join(SOURCES)} ON tutor_profiles
BEGIN
    UPDATE tutor_subjects SET {set_list('NEW')} WHERE tutor_id = NEW.user_id;
END""",
    "UPDATE tutor_subjects SET "
    + ", ".join(f"{c} = (SELECT {e} FROM tutor_profiles p WHERE p.user_id = tutor_subjects.tutor_id)"
                for c, e in copies("p").items() if c != "listed")
    + ", listed = coalesce((SELECT p.listed FROM tutor_profiles p WHERE p.user_id = tutor_subjects.tutor_id), 0)",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS trg_tutor_subjects_match_prior",
    SQLITE_0007[0],
    "DROP TRIGGER IF EXISTS trg_tutor_profiles_match_prior",
    SQLITE_0007[1],
]

# The full-text vector of 0002's index (same as app.tutors.models.SEARCH_VECTOR_SQL), unqualified for the column.
SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('english'::regconfig, coalesce(search_name, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(headline, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(bio, '')), 'C')"
)
POSTGRES_SEARCH_UP = [
    f"ALTER TABLE tutor_profiles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({SEARCH_VECTOR_SQL}) STORED",
    "CREATE INDEX ix_tutor_profiles_search_vector ON tutor_profiles USING gin (search_vector)",
    "DROP INDEX IF EXISTS ix_tutor_profiles_search",
]
POSTGRES_SEARCH_DOWN = [
    f"CREATE INDEX ix_tutor_profiles_search ON tutor_profiles USING gin (({SEARCH_VECTOR_SQL}))",
    "DROP INDEX IF EXISTS ix_tutor_profiles_search_vector",
    "ALTER TABLE tutor_profiles DROP COLUMN IF EXISTS search_vector",
]

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.add_column("tutor_subjects", sa.Column("listed", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("tutor_subjects", sa.Column("mode", sa.String(length=10), nullable=True))
    op.add_column("tutor_subjects", sa.Column("currency", sa.String(length=3), nullable=True))
    op.add_column("tutor_subjects", sa.Column("rate_cents", sa.Integer(), nullable=True))
    op.add_column("tutor_subjects", sa.Column("latitude", sa.Float(), nullable=True))
    op.add_column("tutor_subjects", sa.Column("longitude", sa.Float(), nullable=True))
    op.add_column("tutor_subjects", sa.Column("travel_radius_km", sa.Integer(), nullable=True))
    op.add_column("tutor_subjects", sa.Column("verified", sa.Boolean(), nullable=True))
    op.add_column("tutor_subjects", sa.Column("years_experience", sa.Integer(), nullable=True))
    op.add_column("tutor_subjects", sa.Column("rating", sa.Float(), nullable=True))
    op.add_column("tutor_subjects", sa.Column("teaching_styles", JSON, nullable=True))
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_UP + POSTGRES_SEARCH_UP if postgres else SQLITE_UP:
        op.execute(statement)


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_SEARCH_DOWN + POSTGRES_DOWN if postgres else SQLITE_DOWN:
        op.execute(statement)
    for column in reversed(list(COPIES)):
        op.drop_column("tutor_subjects", column)
