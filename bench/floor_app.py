"""The floor for the API: a bare Flask endpoint, served by gunicorn exactly like `fluxus api`."""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

app = Flask(__name__)


@app.get("/floor/")
def floor() -> ResponseReturnValue:
    """The smallest JSON answer Flask can give: what every API request costs at least."""
    return jsonify({"ok": True})
