"""Celery entry point: ``celery -A workers worker``.

Celery looks up ``workers.app``, so that name is the Celery app; the Flask app it
runs tasks in is ``flask_app``.
"""

from dashboard import create_app

flask_app = create_app(mount_dash=False)
app = flask_app.extensions["celery"]
