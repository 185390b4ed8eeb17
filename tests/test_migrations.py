"""`flask db upgrade` on an empty database gives exactly the models: no drift between migrations and metadata.

The session fixture builds the schema by running the migrations on an empty database (an empty `public`
schema on PostgreSQL, a new file on SQLite); alembic's autogenerate comparison then must find nothing.
It finds nothing on SQLite either, so the test runs on both backends (CI runs it on PostgreSQL).
"""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.common.models import include_in_schema_comparison


def test_migrated_schema_matches_the_models(db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "compare_server_default": True, "include_object": include_in_schema_comparison})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_are_a_single_head(app):
    """Revisions form one chain (two heads would make `flask db upgrade` refuse to run)."""
    from alembic.script import ScriptDirectory

    state = app.extensions["migrate"]
    config = state.migrate.get_config(state.directory)
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1
