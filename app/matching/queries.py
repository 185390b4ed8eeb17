"""Hot hand-written SQL of matching, next to its portable twin (tests/matching/test_log_write.py holds them equal).

insert_match_log: a POST /matches response's log (one ``match_requests`` row and its ``match_impressions``) in one
statement on PostgreSQL (the request row in a data-modifying CTE, the impressions from unnested arrays: one round
trip, one prepared text whatever the number of tutors shown); two INSERTs elsewhere.
"""
import json

import sqlalchemy as sa

from app.extensions import db
from app.matching.models import MatchImpression, MatchRequestLog

_PG_INSERT_LOG = sa.text("""
WITH request AS (
    INSERT INTO match_requests (id, student_id, created_at, arm, model_version, explore, features)
    VALUES (:id, :student_id, :created_at, :arm, :model_version, :explore, CAST(:features AS json))
    RETURNING id
)
INSERT INTO match_impressions (request_id, tutor_id, rank, score, parts)
SELECT request.id, shown.tutor_id, shown.rank, shown.score, CAST(shown.parts AS json)
FROM request, unnest(CAST(:tutor_ids AS integer[]), CAST(:ranks AS smallint[]), CAST(:scores AS float8[]),
                     CAST(:parts AS text[])) AS shown (tutor_id, rank, score, parts)
""")


def insert_match_log(request_row, impressions):
    """Write ``request_row`` (match_requests columns) and ``impressions`` (dicts of tutor_id, rank, score, parts)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(_PG_INSERT_LOG, {
            **request_row, "features": json.dumps(request_row["features"]),
            "tutor_ids": [row["tutor_id"] for row in impressions], "ranks": [row["rank"] for row in impressions],
            "scores": [row["score"] for row in impressions],
            "parts": [json.dumps(row["parts"]) for row in impressions]})
        return
    insert_match_log_portable(request_row, impressions)


def insert_match_log_portable(request_row, impressions):
    """The portable twin: two INSERTs (the request row, then the impressions as one executemany)."""
    db.session.execute(sa.insert(MatchRequestLog).values(**request_row))
    if impressions:
        db.session.execute(sa.insert(MatchImpression),
                           [{"request_id": request_row["id"], **row} for row in impressions])
