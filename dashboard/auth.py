"""Sign in, register and sign out (placeholder until the auth views land)."""

from flask import Blueprint

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    return "sign in"


@bp.route("/register", methods=["GET", "POST"])
def register():
    return "register"
