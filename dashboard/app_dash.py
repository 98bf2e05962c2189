"""Mount the Dash app on the Flask app (placeholder until the pages land)."""

import dash
import dash_bootstrap_components as dbc
from flask import Flask

from dashboard.extensions import BOOTSTRAP_CSS, BOOTSTRAP_ICONS_CSS, csrf


def init_dash(app: Flask) -> dash.Dash:
    dash_app = dash.Dash(
        __name__,
        server=app,
        url_base_pathname="/",
        use_pages=True,
        pages_folder="pages",
        external_stylesheets=[BOOTSTRAP_CSS, BOOTSTRAP_ICONS_CSS],
        suppress_callback_exceptions=True,
        title="Forecourt",
    )
    dash_app.layout = dbc.Container([dash.page_container], fluid=True)
    # Dash posts callbacks without a CSRF token; the SameSite=Lax session cookie
    # keeps other sites from posting them with the user's session.
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/_dash-"):
            csrf.exempt(app.view_functions[rule.endpoint])
    return dash_app
