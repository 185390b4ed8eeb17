"""paginate(count_cap=…): the total stops at the cap, the page stays exact."""
import sqlalchemy as sa

from app.common.pagination import paginate
from app.users.models import User
from tests.factories import UserFactory


class Params:
    def __init__(self, page, page_size):
        self.page, self.page_size = page, page_size
        self.first_item = (page - 1) * page_size
        self.item_count = None


def test_count_cap_limits_total_not_page(app):
    ids = [UserFactory().id for _ in range(7)]
    params = Params(page=2, page_size=3)
    page = paginate(sa.select(User).order_by(User.id), params, count_cap=5)
    assert params.item_count == 5
    assert [user.id for user in page] == ids[3:6]
    uncapped = Params(page=1, page_size=3)
    paginate(sa.select(User).order_by(User.id), uncapped)
    assert uncapped.item_count == 7
