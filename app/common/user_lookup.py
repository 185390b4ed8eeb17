"""The user every authenticated request loads: the user row and its role names, in one SELECT.

A request that starts with an empty session (every request in production: each has its own app context) reads
them with one statement on an autocommit connection given back to the pool at once, straight on the DBAPI
cursor, and attaches the user to the session as if the session had loaded it. Otherwise (a CLI command or a
test sharing the context, a second lookup) it reads through the session, so the session's own uncommitted
changes are seen and its identity map stays consistent.

Why not ``connection.execute(statement)``: on PostgreSQL, SQLAlchemy's execution and result layers cost about
as much CPU as psycopg and the round trip together, ~0.1 ms of the ~0.7 ms a ``/users/me`` request costs the
server in-process (0.26 ms for the lookup through SQLAlchemy Core, 0.16 ms this way). The SQL text is SQLAlchemy's own, compiled once per engine, and each column's value
goes through its type's result processor, so the values are the ones the ORM would have loaded.
"""
import weakref

import sqlalchemy as sa
from sqlalchemy.orm import lazyload, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from app.common.database import autocommit_engine
from app.extensions import db

_STATEMENTS = {}
_COMPILED = weakref.WeakKeyDictionary()


def user_with_roles_statements():
    """The lookup, built once per process: the user's columns plus its role names aggregated into one column
    (``student,tutor``), as an ORM statement (``orm``) and over the table's columns (``core``), with the
    attribute key of each column (``keys``).

    A single ORM entity plus a string column is about half the cost of the user joined to its role rows (two
    ORM identities per row, de-duplicated by ``unique()``).
    """
    if not _STATEMENTS:
        from app.users.models import User, UserRole

        role_names = (
            sa.select(sa.func.aggregate_strings(UserRole.role, ","))
            .where(UserRole.user_id == User.id)
            .scalar_subquery()
        )
        columns = list(User.__table__.columns)
        _STATEMENTS["orm"] = (
            sa.select(User, role_names).where(User.id == sa.bindparam("uid")).options(lazyload(User.role_rows))
        )
        _STATEMENTS["core"] = sa.select(*columns, role_names).where(User.id == sa.bindparam("uid"))
        _STATEMENTS["columns"] = columns
        _STATEMENTS["keys"] = tuple(User.__mapper__.get_property_by_column(column).key for column in columns)
    return _STATEMENTS


class _CompiledLookup:
    """The ``core`` statement compiled for one engine's dialect, run on the DBAPI cursor."""

    def __init__(self, dialect):
        statements = user_with_roles_statements()
        # ``uid`` is given a value only so that the role separator (a literal-execute parameter) can be
        # rendered into the SQL; ``uid`` itself stays a bound parameter.
        compiled = statements["core"].params(uid=0).compile(
            dialect=dialect, compile_kwargs={"render_postcompile": True}
        )
        self.sql = compiled.string
        self.positional_count = len(compiled.positiontup) if compiled.positional else None
        self.processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in statements["columns"]
        ] + [None]
        self.dbapi_error = dialect.loaded_dbapi.Error

    def fetch(self, engine, user_id):
        """The row's values, processed as the ORM would, or None."""
        parameters = {"uid": user_id} if self.positional_count is None else (user_id,) * self.positional_count
        with autocommit_engine(engine).connect() as connection:
            try:
                cursor = connection.connection.dbapi_connection.cursor()
                try:
                    cursor.execute(self.sql, parameters)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            except self.dbapi_error:
                # A dropped connection, a server restart: run it again through SQLAlchemy, which tells a
                # disconnect from other errors and invalidates the pool, or answers if the error has passed.
                row = connection.execute(user_with_roles_statements()["core"], {"uid": user_id}).first()
                return None if row is None else list(row)
        if row is None:
            return None
        return [value if process is None else process(value) for process, value in zip(self.processors, row)]


def _compiled_for(engine):
    compiled = _COMPILED.get(engine)
    if compiled is None:
        compiled = _COMPILED[engine] = _CompiledLookup(engine.dialect)
    return compiled


def _read_outside_session(session, user_id):
    """The user, attached to ``session`` as a persistent, unmodified instance, and its role names; or Nones.

    At READ COMMITTED, PostgreSQL's default, the row is the one a first statement in the request's transaction
    would have read. Views that go on to write use the instance as they always did: the session flushes it in
    its own transaction.
    """
    from app.users.models import User

    engine = session.get_bind(User.__mapper__)
    values = _compiled_for(engine).fetch(engine, user_id)
    if values is None:
        return None, None
    # Filled the way the ORM's loader fills an instance (into its __dict__, no attribute events), then marked
    # as loaded: persistent once added, with no pending changes; relationships load on first access.
    user = User.__mapper__.class_manager.new_instance()
    user.__dict__.update(zip(user_with_roles_statements()["keys"], values[:-1], strict=True))
    make_transient_to_detached(user)
    session.add(user)
    return user, values[-1]


def load_active_user(user_id, token_version):
    """The user a token names, or None when it is gone, deactivated, or the token predates a version bump."""
    from app.users.models import User

    session = db.session()
    if session.in_transaction() or identity_key(User, user_id) in session.identity_map:
        row = session.execute(user_with_roles_statements()["orm"], {"uid": user_id}).first()
        user, role_names = row if row is not None else (None, None)
    else:
        user, role_names = _read_outside_session(session, user_id)
    if user is None or not user.is_active or token_version != user.token_version:
        return None
    user.preload_roles(role_names.split(",") if role_names else [])
    return user
