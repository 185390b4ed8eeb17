"""drop tutor_subjects.match_prior and its indexes (nothing reads them); the triggers keep the profile copies only

Revision ID: 0013
Revises: 0012

Matching ranks candidates by a bound computed from the profile copies of 0012, and search filters subjects
through ix_tutor_subjects_subject_level: the prior of 0007 and its three indexes are written on every profile
change and read by nobody. The two triggers that kept it (and the 0012 copies) are replaced by triggers named
after what they now do, copying the profile columns only:

- ``trg_tutor_subjects_profile_copies`` on tutor_subjects insert (PostgreSQL: also UPDATE OF tutor_id, function
  ``tutor_subjects_copy_profile``);
- ``trg_tutor_profiles_copies`` on tutor_profiles update of a copied column (PostgreSQL: function
  ``tutor_profiles_sync_copies``).

Downgrade restores the column (recomputed), its indexes, and the 0012 triggers and functions under their names.
NB for later SQLite migrations: a batch (copy-and-move) alter of tutor_profiles or tutor_subjects drops these
triggers; recreate them after it.
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# tutor_subjects column -> its source on profile row {p} (as in 0012)
COPIES = {
    "listed": "{p}.listed", "mode": "{p}.mode", "currency": "{p}.currency", "rate_cents": "{p}.rate_cents",
    "latitude": "{p}.latitude", "longitude": "{p}.longitude", "travel_radius_km": "{p}.travel_radius_km",
    "verified": "{p}.verified", "years_experience": "{p}.years_experience",
    "rating": "coalesce({p}.rating_bayes, {p}.rating_avg)", "teaching_styles": "{p}.teaching_styles",
}
SOURCES = ("listed", "mode", "currency", "rate_cents", "latitude", "longitude", "travel_radius_km", "verified",
           "years_experience", "rating_bayes", "rating_avg", "teaching_styles")
PRIOR_INDEXES = {
    "ix_tutor_subjects_match_prior": ["subject_id", "match_prior", "tutor_id"],
    "ix_tutor_subjects_level_match_prior": ["subject_id", "level", "match_prior", "tutor_id"],
    "ix_tutor_subjects_tutor_match_prior": ["tutor_id", "subject_id", "match_prior"],
}


def copies(row):
    return {column: source.format(p=row) for column, source in COPIES.items()}


def prior_sql(row):
    """The 0007 prior of profile ``row`` (for the downgrade), in SQL both dialects understand."""
    return (f"(0.5 * coalesce({row}.rating_bayes, {row}.rating_avg, 2.5) / 5.0"
            f" + CASE WHEN {row}.verified THEN 0.25 ELSE 0.0 END"
            f" + 0.25 * (CASE WHEN {row}.years_experience >= 10 THEN 10 ELSE {row}.years_experience END) / 10.0)")


def set_list(row, prior):
    assignments = [f"{column} = {source}" for column, source in copies(row).items()]
    return ", ".join(([f"match_prior = {prior_sql(row)}"] if prior else []) + assignments)


SOURCES_CHANGED = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in SOURCES)


def postgres_triggers(prior):
    """The two functions and triggers: 0012's (with the prior, their names) or this revision's (copies only)."""
    names = (("tutor_subjects_set_match_prior", "trg_tutor_subjects_match_prior", "tutor_profiles_sync_match_prior",
              "trg_tutor_profiles_match_prior") if prior else
             ("tutor_subjects_copy_profile", "trg_tutor_subjects_profile_copies", "tutor_profiles_sync_copies",
              "trg_tutor_profiles_copies"))
    insert_function, insert_trigger, sync_function, sync_trigger = names
    selected = ([prior_sql("p")] if prior else []) + list(copies("p").values())
    targets = (["NEW.match_prior"] if prior else []) + [f"NEW.{column}" for column in COPIES]
    default_prior = "    NEW.match_prior := coalesce(NEW.match_prior, 0);\n" if prior else ""
    return [
        f"""CREATE FUNCTION {insert_function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT {', '.join(selected)}
    INTO {', '.join(targets)}
    FROM tutor_profiles p WHERE p.user_id = NEW.tutor_id;
{default_prior}    NEW.listed := coalesce(NEW.listed, false);
    RETURN NEW;
END $$""",
        f"""CREATE TRIGGER {insert_trigger} BEFORE INSERT OR UPDATE OF tutor_id ON tutor_subjects
    FOR EACH ROW EXECUTE FUNCTION {insert_function}()""",
        f"""CREATE FUNCTION {sync_function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tutor_subjects SET {set_list('NEW', prior)} WHERE tutor_id = NEW.user_id;
    RETURN NULL;
END $$""",
        f"""CREATE TRIGGER {sync_trigger} AFTER UPDATE OF {', '.join(SOURCES)} ON tutor_profiles
    FOR EACH ROW WHEN ({SOURCES_CHANGED}) EXECUTE FUNCTION {sync_function}()""",
    ]


def drop_postgres_triggers(prior):
    if prior:
        return ["DROP TRIGGER IF EXISTS trg_tutor_profiles_match_prior ON tutor_profiles",
                "DROP FUNCTION IF EXISTS tutor_profiles_sync_match_prior()",
                "DROP TRIGGER IF EXISTS trg_tutor_subjects_match_prior ON tutor_subjects",
                "DROP FUNCTION IF EXISTS tutor_subjects_set_match_prior()"]
    return ["DROP TRIGGER IF EXISTS trg_tutor_profiles_copies ON tutor_profiles",
            "DROP FUNCTION IF EXISTS tutor_profiles_sync_copies()",
            "DROP TRIGGER IF EXISTS trg_tutor_subjects_profile_copies ON tutor_subjects",
            "DROP FUNCTION IF EXISTS tutor_subjects_copy_profile()"]


def _profile_lookup(expression):
    return f"(SELECT {expression} FROM tutor_profiles p WHERE p.user_id = NEW.tutor_id)"


def sqlite_triggers(prior):
    """SQLite's two triggers (no BEFORE row assignment there: the insert trigger updates the new row)."""
    insert_trigger, sync_trigger = (("trg_tutor_subjects_match_prior", "trg_tutor_profiles_match_prior") if prior
                                    else ("trg_tutor_subjects_profile_copies", "trg_tutor_profiles_copies"))
    assignments = ([f"match_prior = coalesce({_profile_lookup(prior_sql('p'))}, 0)"] if prior else []) + [
        f"listed = coalesce({_profile_lookup('p.listed')}, 0)"] + [
        f"{column} = {_profile_lookup(source)}" for column, source in copies("p").items() if column != "listed"]
    return [
        f"""CREATE TRIGGER {insert_trigger} AFTER INSERT ON tutor_subjects BEGIN
    UPDATE tutor_subjects
    SET {(',' + chr(10) + '        ').join(assignments)}
    WHERE tutor_id = NEW.tutor_id AND subject_id = NEW.subject_id AND level = NEW.level;
END""",
        f"""CREATE TRIGGER {sync_trigger} AFTER UPDATE OF {', '.join(SOURCES)} ON tutor_profiles
BEGIN
    UPDATE tutor_subjects SET {set_list('NEW', prior)} WHERE tutor_id = NEW.user_id;
END""",
    ]


def drop_sqlite_triggers(prior):
    names = ("trg_tutor_subjects_match_prior", "trg_tutor_profiles_match_prior") if prior else (
        "trg_tutor_subjects_profile_copies", "trg_tutor_profiles_copies")
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names]


def _is_postgres():
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    postgres = _is_postgres()
    for statement in drop_postgres_triggers(prior=True) if postgres else drop_sqlite_triggers(prior=True):
        op.execute(statement)
    for name in PRIOR_INDEXES:
        op.drop_index(name, table_name="tutor_subjects")
    # SQLite (3.35+) drops the column in place once no index or trigger names it, like 0012's downgrade.
    op.drop_column("tutor_subjects", "match_prior")
    for statement in postgres_triggers(prior=False) if postgres else sqlite_triggers(prior=False):
        op.execute(statement)


def downgrade():
    postgres = _is_postgres()
    for statement in drop_postgres_triggers(prior=False) if postgres else drop_sqlite_triggers(prior=False):
        op.execute(statement)
    op.add_column("tutor_subjects", sa.Column("match_prior", sa.Float(), server_default=sa.text("0"), nullable=False))
    op.execute(f"UPDATE tutor_subjects SET match_prior = coalesce((SELECT {prior_sql('p')} FROM tutor_profiles p "
               "WHERE p.user_id = tutor_subjects.tutor_id), 0)")
    for name, columns in PRIOR_INDEXES.items():
        op.create_index(name, "tutor_subjects", columns)
    for statement in postgres_triggers(prior=True) if postgres else sqlite_triggers(prior=True):
        op.execute(statement)
