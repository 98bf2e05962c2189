"""SQLAlchemy models and the Flask-SQLAlchemy ``db`` they are bound to."""

from models.base import db
from models.sales import (
    DatasetVersion,
    MonthlyModelRollup,
    MonthlyRollup,
    RejectedRow,
    Sale,
)
from models.tasks import TASK_STATUSES, FetchTask, FetchTaskPart, Upload
from models.users import ROLES, ApiToken, User

__all__ = [
    "ROLES",
    "TASK_STATUSES",
    "ApiToken",
    "DatasetVersion",
    "FetchTask",
    "FetchTaskPart",
    "MonthlyModelRollup",
    "MonthlyRollup",
    "RejectedRow",
    "Sale",
    "Upload",
    "User",
    "db",
]
