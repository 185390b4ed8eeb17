"""Liveness and dependency status: 200 when every dependency answers, 503 (what load balancers read) otherwise."""
import sqlalchemy as sa
from marshmallow import Schema, fields

from app.common.api import Blueprint
from app.common.errors import ServiceUnavailable
from app.extensions import db, redis_client

blp = Blueprint("health", __name__, url_prefix="/api/v1/health", description="Service health")


class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ok"})
    database = fields.String(metadata={"example": "ok"})
    redis = fields.String(metadata={"example": "ok"})


def _check(probe):
    try:
        probe()
        return "ok"
    except Exception as error:  # noqa: BLE001 (report, never raise: this endpoint says what is down)
        return f"error: {type(error).__name__}"


@blp.route("")
@blp.doc(operationId="getHealth")
@blp.doc(summary="Service health",
         description="200 when the database and Redis answer; 503 (standard error body, `errors` naming each "
                     "dependency's state, `Retry-After`) when one of them is down.")
@blp.response(200, HealthSchema)
@blp.alt_response(503, description="A dependency is down")
def health():
    checks = {
        "database": _check(lambda: db.session.execute(sa.text("SELECT 1"))),
        "redis": _check(redis_client.client.ping),
    }
    down = [name for name, state in checks.items() if state != "ok"]
    if down:
        raise ServiceUnavailable(f"Unavailable: {', '.join(down)}.", errors=checks)
    return {"status": "ok", **checks}
