import sqlalchemy as sa
from marshmallow import Schema, fields

from app.common.api import Blueprint
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
@blp.doc(summary="Service health", description="Reports whether the database and Redis answer.")
@blp.response(200, HealthSchema)
def health():
    database = _check(lambda: db.session.execute(sa.text("SELECT 1")))
    redis = _check(redis_client.client.ping)
    status = "ok" if database == redis == "ok" else "degraded"
    return {"status": status, "database": database, "redis": redis}
