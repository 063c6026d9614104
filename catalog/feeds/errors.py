"""What can go wrong with a feed: the whole file (FeedError), or one row (RowError)."""

from __future__ import annotations

from dataclasses import dataclass


class FeedError(Exception):
    """The feed cannot be read at all; nothing was written."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class RowError:
    row: int  # the data row (1 = the first after the header)
    field: str  # the feed attribute at fault, "" for the row as a whole
    message: str
    code: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message, "code": self.code}
