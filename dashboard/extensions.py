"""Flask extensions, created unbound here and bound to the app in ``create_app``."""

from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
migrate = Migrate()
bootstrap = Bootstrap5()
# Limits apply only where a view asks for one (sign-in, tokens).
limiter = Limiter(key_func=get_remote_address, default_limits=[])

BOOTSTRAP_CSS = "/bootstrap/static/css/bootstrap.min.css"
BOOTSTRAP_ICONS_CSS = "/bootstrap/static/css/font/bootstrap-icons.min.css"
