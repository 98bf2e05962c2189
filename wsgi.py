"""The WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi``."""

from dashboard import create_app

app = create_app()
