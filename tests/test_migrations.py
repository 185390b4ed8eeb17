"""`flask db upgrade` on an empty database gives exactly the models: no drift between migrations and metadata.

The session fixture builds the schema by running the migrations on an empty database (an empty `public`
schema on PostgreSQL, a new file on SQLite); alembic's autogenerate comparison then must find nothing.
It finds nothing on SQLite either, so the test runs on both backends (CI runs it on PostgreSQL).
"""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.common.database import autocommit_engine
from app.common.models import include_in_schema_comparison

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "migrations" / "versions"


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


def _chain(app):
    """The revision scripts from the first to the head."""
    from alembic.script import ScriptDirectory

    state = app.extensions["migrate"]
    script = ScriptDirectory.from_config(state.migrate.get_config(state.directory))
    return list(reversed(list(script.walk_revisions())))


def test_migration_files_are_named_in_revision_order(app):
    """Listing migrations/versions shows the revisions in the order they apply (the file name's number is the
    position in the chain; the revision id inside the file is what deployed databases know)."""
    in_chain_order = [Path(revision.path).name for revision in _chain(app)]
    assert sorted(in_chain_order) == in_chain_order
    assert sorted(path.name for path in VERSIONS.glob("*.py")) == in_chain_order


def test_no_migration_imports_another():
    """A revision stands alone: it never imports (or loads by path) another revision file."""
    stems = {path.stem for path in VERSIONS.glob("*.py")}
    for path in VERSIONS.glob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {name for name in imported if name.startswith(("migrations", "importlib"))}, path.name
        strings = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        assert not {s for s in strings for stem in stems - {path.stem} if stem in s}, path.name


@pytest.fixture
def scratch_database_url(db, tmp_path):
    """An empty database of the test backend's kind, dropped afterwards: a file on SQLite, a database of its own
    next to the test database on PostgreSQL."""
    if db.engine.dialect.name != "postgresql":
        yield f"sqlite:///{tmp_path}/roundtrip.db"
        return
    name = f"{db.engine.url.database}_roundtrip"
    admin = autocommit_engine(db.engine)  # CREATE/DROP DATABASE cannot run inside a transaction
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield db.engine.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _flask_db(url, *arguments):
    """`flask db ...` in a process of its own, as `make migrate` and the release process run it."""
    environment = {**os.environ, "FLASK_APP": "app:create_app", "FLASK_CONFIG": "development", "DATABASE_URL": url}
    environment.pop("REDIS_URL", None)
    completed = subprocess.run([sys.executable, "-m", "flask", "db", *arguments], check=False, cwd=ROOT, env=environment,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]


def _leftovers(engine):
    """Tables, views and functions of the application's (not of an extension) in the database."""
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names()) | set(sa.inspect(connection).get_view_names())
        if engine.dialect.name != "postgresql":
            triggers = connection.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
            return tables | {f"trigger {name}" for name in triggers}
        functions = connection.execute(sa.text(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass "
            "AND d.objid = p.oid AND d.deptype = 'e')"
        )).scalars()
        return tables | {f"function {name}" for name in functions}


def test_every_migration_downgrades_and_upgrades_again(db, scratch_database_url):
    """`flask db downgrade base` undoes every revision (tables, triggers, functions), and upgrading again gives
    exactly the models."""
    _flask_db(scratch_database_url, "upgrade")
    _flask_db(scratch_database_url, "downgrade", "base")
    engine = sa.create_engine(scratch_database_url, poolclass=sa.pool.NullPool)
    try:
        assert _leftovers(engine) == {"alembic_version"}
        _flask_db(scratch_database_url, "upgrade")
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True, "compare_server_default": True, "include_object": include_in_schema_comparison})
            assert compare_metadata(context, db.metadata) == []
    finally:
        engine.dispose()
