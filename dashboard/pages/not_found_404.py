"""The page Dash shows for a path that matches no other page."""

import dash
from dash import html

from dashboard.components import not_found

dash.register_page(__name__, title="Not found · Forecourt")


def layout(**_query: str) -> html.Div:
    return not_found(
        "This page does not exist. Check the address, or go back to your tasks."
    )
