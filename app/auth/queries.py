"""The per-request user lookup: a hand-run statement for the hot path, next to its portable twin.

Every authenticated request reads its user and role names. ``read_user_with_roles`` runs the SELECT on the
DBAPI cursor of an autocommit connection (one round trip, no BEGIN/ROLLBACK, no SQLAlchemy execution or result
layer), then makes the row a clean persistent ``User`` of the request's session through SQLAlchemy's public
``make_transient_to_detached``. ``read_user_with_roles_in_session`` is the same read through the ORM; it is used
whenever the session already has a transaction or the user (a CLI command, a test sharing the app context), so
uncommitted changes are seen. Both use only public APIs; ``tests/auth/test_user_lookup.py`` holds them to the
same result. The fast path exists for the auth bench's target (``bench/README.md``).
"""
import functools
import weakref

import sqlalchemy as sa
from sqlalchemy.orm import lazyload, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from app.common.database import autocommit_engine
from app.extensions import db
from app.users.models import User, UserRole


def _role_names():
    return (
        sa.select(sa.func.aggregate_strings(UserRole.role, ","))
        .where(UserRole.user_id == User.id)
        .scalar_subquery()
        .label("role_names")
    )


@functools.cache
def _orm_statement():
    return sa.select(User, _role_names()).where(User.id == sa.bindparam("uid")).options(lazyload(User.role_rows))


@functools.cache
def _core_statement():
    columns = list(User.__table__.columns)
    keys = tuple(User.__mapper__.get_property_by_column(column).key for column in columns)
    return sa.select(*columns, _role_names()).where(User.id == sa.bindparam("uid")), columns, keys


class _CompiledLookup:
    """The Core statement compiled once for a dialect, with each column's result processor."""

    def __init__(self, dialect):
        statement, columns, self.keys = _core_statement()
        # ``uid`` gets a value only so the role separator (a literal-execute parameter) renders into the SQL.
        compiled = statement.params(uid=0).compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        self.sql = compiled.string
        self.positional_count = len(compiled.positiontup) if compiled.positional else None
        self.processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
        self.dbapi_error = dialect.loaded_dbapi.Error

    def fetch(self, connection, user_id):
        """The row as (column values processed as the ORM would, role names), or None."""
        parameters = {"uid": user_id} if self.positional_count is None else (user_id,) * self.positional_count
        try:
            cursor = connection.connection.dbapi_connection.cursor()
            try:
                cursor.execute(self.sql, parameters)
                row = cursor.fetchone()
            finally:
                cursor.close()
        except self.dbapi_error:
            # A dropped connection or a restarted server: SQLAlchemy's own execution tells a disconnect from
            # other errors and invalidates the pool.
            row = connection.execute(_core_statement()[0], {"uid": user_id}).first()
            return None if row is None else (list(row[:-1]), row[-1])
        if row is None:
            return None
        values = [value if process is None else process(value) for process, value in zip(self.processors, row[:-1], strict=True)]
        return values, row[-1]


_COMPILED = weakref.WeakKeyDictionary()


def _compiled_for(engine):
    compiled = _COMPILED.get(engine)
    if compiled is None:
        compiled = _COMPILED[engine] = _CompiledLookup(engine.dialect)
    return compiled


def read_user_with_roles(user_id):
    """(the user, attached to the request's session, and its comma-separated role names), or None."""
    session = db.session()
    if session.in_transaction() or identity_key(User, user_id) in session.identity_map:
        return read_user_with_roles_in_session(user_id)
    engine = session.get_bind(User.__mapper__)
    compiled = _compiled_for(engine)
    with autocommit_engine(engine).connect() as connection:
        found = compiled.fetch(connection, user_id)
    if found is None:
        return None
    values, role_names = found
    user = User(**dict(zip(compiled.keys, values, strict=True)))
    make_transient_to_detached(user)
    session.add(user)
    return user, role_names


def read_user_with_roles_in_session(user_id):
    """The portable twin: the same read through the request's session."""
    row = db.session.execute(_orm_statement(), {"uid": user_id}).first()
    return None if row is None else tuple(row)
