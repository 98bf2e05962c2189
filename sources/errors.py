"""The exceptions that source code raises. Messages are shown to users as written."""


class SourceError(Exception):
    """A source cannot be read at all: missing file, HTTP error, not JSON or CSV.

    The message names the file, URL, line or field, says what was wrong and what
    to change, and is stored on the failed task as written.
    """


class SpecError(ValueError):
    """A task spec is invalid. ``field`` is the dotted name of the bad field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DestinationNotAllowed(SourceError):
    """A URL points at an address that the guarded HTTP client refuses."""
