"""Offset pagination over SQLAlchemy selects, feeding flask-smorest's X-Pagination header."""
import sqlalchemy as sa

from app.extensions import db

MAX_PAGE_SIZE = 100


def paginate(stmt, pagination_parameters):
    """Return one page of ``stmt`` and record the total on ``pagination_parameters``."""
    count_stmt = sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    pagination_parameters.item_count = db.session.scalar(count_stmt)
    page_stmt = stmt.limit(pagination_parameters.page_size).offset(
        pagination_parameters.first_item
    )
    return db.session.scalars(page_stmt).all()
