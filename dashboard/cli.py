"""Flask CLI commands (placeholder until create-user lands)."""


def register_cli(app) -> None:
    return None
