"""From a feed file to raw rows: CSV (comma or tab) or JSON Lines, UTF-8, a bounded line at a time.

A file-level fault (not UTF-8, the wrong columns) raises FeedError before any row is used; a
fault in one line (too long, not JSON) becomes that row's error and the rest is read on.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from catalog.feeds.errors import FeedError, RowError

# Google Merchant Center attribute names that a feed may use; `quantity` (the stock count,
# which Merchant Center takes from a separate inventory feed) is the one extension.
REQUIRED_COLUMNS = ("id", "title", "price")
OPTIONAL_COLUMNS = (
    "description",
    "link",
    "image_link",
    "additional_image_link",
    "sale_price",
    "availability",
    "quantity",
    "brand",
    "color",
    "size",
    "material",
    "gtin",
    "condition",
    "item_group_id",
    "product_type",
)
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


@dataclass
class RawRow:
    number: int  # 1-based data row: the header is not counted (a JSON Lines file has none)
    values: dict[str, object] = field(default_factory=dict)
    error: RowError | None = None


def _lines(stream: BinaryIO, *, limit: int) -> Iterator[tuple[int, str | None]]:
    """(line number, text) per physical line, text None for a line over `limit` bytes (which is
    read past in chunks, never held whole). Raises FeedError on bytes that are not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    number = 0
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(2**20)
            yield number, None
            continue
        try:
            yield number, decoder.decode(raw)
        except UnicodeDecodeError as err:
            raise FeedError(
                f"Line {number} is not UTF-8 (byte {err.start + 1}): save the feed as UTF-8 "
                "and import it again.",
                code="not_utf8",
            ) from None


def _too_long(number: int, limit: int) -> RowError:
    return RowError(
        row=number,
        field="",
        message=f"This line is over {limit // 2**20} MB: it was skipped.",
        code="line_too_long",
    )


def _check_columns(columns: list[str]) -> list[str]:
    """Feed columns, lower-cased; raises FeedError naming what is expected when a required one
    is missing. Returns the unknown ones (they are ignored, and reported)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise FeedError(
            f"The feed has no {', '.join(missing)} column. A feed needs "
            f"{', '.join(REQUIRED_COLUMNS)} and may have {', '.join(OPTIONAL_COLUMNS)} "
            "(Google Merchant Center names).",
            code="wrong_columns",
        )
    return [c for c in columns if c not in KNOWN_COLUMNS]


def _csv_rows(lines: Iterator[tuple[int, str | None]], *, limit: int, unknown: list[str]):
    first = next(lines, None)
    if first is None or first[1] is None or not first[1].strip():
        raise FeedError("The feed is empty: its first line must name the columns.", code="empty")
    header_line = first[1]
    dialect = "excel-tab" if header_line.count("\t") > header_line.count(",") else "excel"
    header = next(csv.reader([header_line], dialect=dialect))
    columns = [name.strip().lower() for name in header]
    unknown.extend(_check_columns(columns))
    skipped: list[int] = []

    def texts() -> Iterator[str]:
        for number, text in lines:
            if text is None:
                skipped.append(number)
                yield "\n"  # an empty record: csv skips it
            else:
                yield text

    reader = csv.reader(texts(), dialect=dialect)
    csv.field_size_limit(limit)
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            number += 1
            yield RawRow(number, error=RowError(number, "", f"Not valid CSV: {err}.", "bad_csv"))
            continue
        while skipped:
            skipped.pop()
            number += 1
            yield RawRow(number, error=_too_long(number, limit))
        if not any(cell.strip() for cell in cells):
            continue
        number += 1
        if len(cells) != len(columns):
            yield RawRow(
                number,
                error=RowError(
                    number,
                    "",
                    f"This row has {len(cells)} cells and the header {len(columns)}.",
                    "wrong_cell_count",
                ),
            )
            continue
        yield RawRow(number, dict(zip(columns, cells, strict=True)))


def _json_lines_rows(lines: Iterator[tuple[int, str | None]], *, limit: int, unknown: list[str]):
    checked = False
    number = 0
    for _line, text in lines:
        if text is not None and not text.strip():
            continue
        number += 1
        if text is None:
            yield RawRow(number, error=_too_long(number, limit))
            continue
        try:
            item = json.loads(text)
        except json.JSONDecodeError as err:
            yield RawRow(number, error=RowError(number, "", f"Not valid JSON: {err}.", "bad_json"))
            continue
        if not isinstance(item, dict):
            message = "Each line must be one JSON object of attributes."
            yield RawRow(number, error=RowError(number, "", message, "bad_json"))
            continue
        values = {str(k).strip().lower(): v for k, v in item.items()}
        if not checked:  # the first object sets the columns, as a CSV header does
            unknown.extend(_check_columns(list(values)))
            checked = True
        yield RawRow(number, values)


def is_json_lines(name: str, head: bytes) -> bool:
    if name.lower().endswith((".jsonl", ".ndjson", ".json")):
        return True
    return head.lstrip(codecs.BOM_UTF8 + b" \t\r\n").startswith(b"{")


def feed_rows(stream: BinaryIO, *, name: str, limit: int, unknown: list[str]) -> Iterator[RawRow]:
    """The rows of a (seekable, binary) feed, in order. `unknown` receives the columns that
    were ignored."""
    head = stream.read(64)
    stream.seek(0)
    lines = _lines(stream, limit=limit)
    if is_json_lines(name, head):
        return _json_lines_rows(lines, limit=limit, unknown=unknown)
    return _csv_rows(lines, limit=limit, unknown=unknown)
