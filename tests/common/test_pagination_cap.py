"""Capped counts: the total stops at the cap (or one row past the page), the page stays exact."""
import sqlalchemy as sa

from app.common.pagination import SortKey, page_keys_statement, paginate, paginate_keys
from app.users.models import User
from tests.factories import UserFactory


class Params:
    def __init__(self, page, page_size):
        self.page, self.page_size = page, page_size
        self.first_item = (page - 1) * page_size
        self.item_count = None


def test_count_cap_limits_total_not_page(app):
    ids = [UserFactory().id for _ in range(9)]
    params = Params(page=1, page_size=3)
    page = paginate(sa.select(User).order_by(User.id), params, count_cap=5)
    assert params.item_count == 5
    assert [user.id for user in page] == ids[:3]
    uncapped = Params(page=1, page_size=3)
    paginate(sa.select(User).order_by(User.id), uncapped)
    assert uncapped.item_count == 9


def test_capped_count_reaches_one_past_the_page_so_next_page_is_right(app):
    """Page 2 of 3 with cap 5: counting goes to row 7 (one past the page), so a next page is announced."""
    ids = [UserFactory().id for _ in range(9)]
    params = Params(page=2, page_size=3)
    page = paginate(sa.select(User).order_by(User.id), params, count_cap=5)
    assert [user.id for user in page] == ids[3:6]
    assert params.item_count == 7


def _keys(first_item, page_size, cap, descending=False):
    stmt = sa.select(User.id.label("id"))
    return paginate_keys(page_keys_statement(stmt, [SortKey(User.id, descending=descending)], first_item,
                                             page_size, cap))


def test_page_keys_and_capped_total_in_one_statement(app):
    ids = [UserFactory().id for _ in range(9)]
    assert _keys(0, 3, 100) == (ids[:3], 9)
    assert _keys(3, 3, 100, descending=True) == (ids[::-1][3:6], 9)
    assert _keys(0, 3, 5) == (ids[:3], 5)
    assert _keys(3, 3, 5) == (ids[3:6], 7)
    assert _keys(6, 3, 5) == (ids[6:9], 9)
    assert _keys(9, 3, 5) == ([], 9)
    assert _keys(30, 3, 5) == ([], 9)


def test_page_keys_of_nothing(app):
    assert _keys(0, 3, 5) == ([], 0)
    assert _keys(3, 3, 5) == ([], 0)
