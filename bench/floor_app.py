"""The floors for the API, served by gunicorn exactly like `fluxus api`.

`/floor/` is a bare Flask endpoint: what every API request costs at least. `/floor/io/` adds
the I/O a rate-limited read cannot avoid in this design: one Redis script round trip (the
limiter's) and one read-only PostgreSQL transaction of one query (BEGIN, SELECT, COMMIT),
with plain redis-py and psycopg2, no ORM, no schema, no auth."""

from __future__ import annotations

import os
import threading
from typing import Any

import psycopg2
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from redis import Redis
from sqlalchemy.engine import make_url

app = Flask(__name__)
_local = threading.local()  # one connection per worker thread, made after gunicorn's fork
# The limiter's shape: count this request in a window, answer the count (one round trip).
_WINDOW = "redis.call('LPUSH', KEYS[1], ARGV[1]); redis.call('LTRIM', KEYS[1], 0, 59); " \
          "return redis.call('LLEN', KEYS[1])"


@app.get("/floor/")
def floor() -> ResponseReturnValue:
    """The smallest JSON answer Flask can give: what every API request costs at least."""
    return jsonify({"ok": True})


def _connections() -> tuple[Any, Redis]:
    if not hasattr(_local, "pg"):
        url = make_url(os.environ["FLUXUS_DATABASE_URL"])
        _local.pg = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username,
                                     password=url.password, dbname=url.database)
        _local.redis = Redis.from_url(os.environ["FLUXUS_REDIS_URL"])
        _local.script = _local.redis.register_script(_WINDOW)
    return _local.pg, _local.redis


@app.get("/floor/io/")
def floor_io() -> ResponseReturnValue:
    """One limiter round trip and one read transaction: the I/O a limited read pays."""
    pg, _redis = _connections()
    hits = _local.script(keys=["floor:window"], args=["1"])
    with pg, pg.cursor() as cursor:  # BEGIN … COMMIT
        cursor.execute("SELECT id::text, slug, name, price::text FROM plans WHERE is_active "
                       "ORDER BY slug LIMIT 4")
        rows = cursor.fetchall()
    return jsonify({"hits": hits, "results": [list(row) for row in rows]})
