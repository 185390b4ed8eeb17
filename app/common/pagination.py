"""Offset pagination over SQLAlchemy selects, feeding flask-smorest's X-Pagination header."""
from typing import NamedTuple

import sqlalchemy as sa

from app.extensions import db

MAX_PAGE_SIZE = 100


class SortKey(NamedTuple):
    """One ORDER BY term; a list of them is a whole order (end it with a unique column for stable pages)."""

    expr: object
    descending: bool = False
    nulls_last: bool = False


def order_clauses(keys, columns=None):
    """ORDER BY clauses for ``keys``, applied to ``columns`` (same length) instead of the key expressions if given."""
    clauses = []
    for key, column in zip(keys, columns or [key.expr for key in keys], strict=True):
        clause = column.desc() if key.descending else column.asc()
        clauses.append(sa.nulls_last(clause) if key.nulls_last else clause)
    return clauses


def counted_limit(first_item, page_size, count_cap):
    """How far a capped count goes: the cap, or one row past the requested page when that is further."""
    return max(count_cap, first_item + page_size + 1)


def paginate(stmt, pagination_parameters, count_cap=None):
    """Return one page of ``stmt`` and record the total on ``pagination_parameters``.

    With ``count_cap`` the total stops counting at the cap or one row past the page, whichever is further:
    a total that reaches it is a lower bound ("1,000+"), and ``next_page`` is still right on every page.
    The page itself is always exact.
    """
    counted = stmt.order_by(None)
    if count_cap:
        counted = counted.limit(counted_limit(pagination_parameters.first_item, pagination_parameters.page_size,
                                              count_cap))
    count_stmt = sa.select(sa.func.count()).select_from(counted.subquery())
    pagination_parameters.item_count = db.session.scalar(count_stmt)
    page_stmt = stmt.limit(pagination_parameters.page_size).offset(
        pagination_parameters.first_item
    )
    return db.session.scalars(page_stmt).all()


class PageQuery(NamedTuple):
    page: object  # rows (key, total) of the requested page
    count: object  # the capped count alone, for a page past the end
    first_item: int


def page_keys_statement(stmt, keys, first_item, page_size, count_cap):
    """A page of keys and the capped number of matches, in one statement.

    ``stmt`` selects one narrow key column (an id) with every filter. Its matches, sorted by ``keys`` and cut at
    ``counted_limit(...)``, form a CTE; the page is read from it together with its row count. PostgreSQL
    computes the filtered, sorted set once instead of twice (page query + COUNT), and the CTE carries only
    ids and sort keys, never whole rows. Same total semantics as ``paginate(count_cap=...)``.
    """
    labels = [key.expr.label(f"sort_{index}") for index, key in enumerate(keys)]
    matched = (stmt.add_columns(*labels).order_by(*order_clauses(keys, labels))
               .limit(counted_limit(first_item, page_size, count_cap)).cte("matched"))
    count = sa.select(sa.func.count()).select_from(matched)
    sort_columns = [matched.c[label.name] for label in labels]
    page = (sa.select(next(iter(matched.c)), count.scalar_subquery().label("total"))
            .order_by(*order_clauses(keys, sort_columns)).limit(page_size).offset(first_item))
    return PageQuery(page, count, first_item)


def paginate_keys(query):
    """(keys of the page, total) from a PageQuery; a second statement only for an empty page past the first."""
    rows = db.session.execute(query.page).all()
    if rows:
        return [row[0] for row in rows], rows[0].total
    return [], (db.session.scalar(query.count) if query.first_item else 0)
