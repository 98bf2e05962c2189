"""Mount the Dash app, with one module per page under ``dashboard/pages``."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html
from flask import Flask
from flask_login import current_user

from dashboard.components import NAV_LINKS, navbar
from dashboard.extensions import BOOTSTRAP_CSS, BOOTSTRAP_ICONS_CSS, csrf


def serve_layout() -> html.Div:
    """Build the page frame for the signed-in user: navbar, then the page."""
    return html.Div(
        [
            navbar(current_user),
            dbc.Container(
                dash.page_container, fluid=True, className="app-container pb-5"
            ),
        ]
    )


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
        update_title=None,
    )
    # A function, so each request builds the navbar for its own user. Page ids
    # appear only after navigation, hence suppress_callback_exceptions above.
    dash_app.layout = serve_layout

    dash_app.clientside_callback(
        "function (clicks, isOpen) { return clicks ? !isOpen : isOpen; }",
        Output("navbar-collapse", "is_open"),
        Input("navbar-toggler", "n_clicks"),
        State("navbar-collapse", "is_open"),
        prevent_initial_call=True,
    )

    # The Tasks link also covers task detail pages, but not the new-task form.
    dash_app.clientside_callback(
        """function (path) {
            path = path || "/";
            const isNew = path === "/tasks/new";
            const isTasks = !isNew && (path === "/" || path.startsWith("/tasks"));
            return [isTasks, isNew, path === "/analytics"];
        }""",
        *(Output(link_id, "active") for link_id, _, _ in NAV_LINKS),
        Input("_pages_location", "pathname"),
    )

    # Dash posts callbacks without a CSRF token; the SameSite=Lax session cookie
    # keeps other sites from posting them with the user's session.
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/_dash-"):
            csrf.exempt(app.view_functions[rule.endpoint])
    return dash_app
