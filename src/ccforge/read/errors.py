"""The reader's one user-facing error."""

from __future__ import annotations


class ReadError(ValueError):
    """An input that cannot be found, opened or fetched; the message is one line naming it."""
