"""Dash pages, one module each. Dash imports them itself when the app starts."""
