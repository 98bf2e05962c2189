"""The REST API under /api/v1 (placeholder until the API lands)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
