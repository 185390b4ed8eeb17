"""Offset pagination over SQLAlchemy selects, feeding flask-smorest's X-Pagination header."""
import sqlalchemy as sa

from app.extensions import db

MAX_PAGE_SIZE = 100


def paginate(stmt, pagination_parameters, count_cap=None):
    """Return one page of ``stmt`` and record the total on ``pagination_parameters``.

    With ``count_cap`` the total stops counting there (a search over 100k rows need not count them all to
    say "1,000+"); the page itself is always exact.
    """
    counted = stmt.order_by(None)
    if count_cap:
        counted = counted.limit(count_cap)
    count_stmt = sa.select(sa.func.count()).select_from(counted.subquery())
    pagination_parameters.item_count = db.session.scalar(count_stmt)
    page_stmt = stmt.limit(pagination_parameters.page_size).offset(
        pagination_parameters.first_item
    )
    return db.session.scalars(page_stmt).all()
