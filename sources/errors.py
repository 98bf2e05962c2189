"""The exceptions that source code raises. Messages are shown to users as written."""

# Any one message, warning or rejection reason is cut to this many characters, so
# a hostile file or server cannot fill the task row or the log with one sentence.
MESSAGE_LIMIT = 1000


def clip_text(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Return ``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


class SourceError(Exception):
    """A source cannot be read at all: missing file, HTTP error, not JSON or CSV.

    The message names the file, URL, line or field, says what was wrong and what
    to change, and is stored on the failed task as written, cut to
    ``MESSAGE_LIMIT`` characters.
    """

    def __init__(self, message: str) -> None:
        super().__init__(clip_text(message))


class SpecError(ValueError):
    """A task spec is invalid. ``field`` is the dotted name of the bad field."""

    def __init__(self, field: str, message: str):
        self.field = clip_text(field, 200)
        self.message = clip_text(message)
        super().__init__(f"{self.field}: {self.message}")


class DestinationNotAllowed(SourceError):
    """A URL points at an address that the guarded HTTP client refuses."""
