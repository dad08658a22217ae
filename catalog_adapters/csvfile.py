"""Reading a storefront's CSV export row by row: line numbers, bad rows as problems, header lookup by name.

The WooCommerce and Adobe Commerce exports share this (and ExportCsv, their constructor and
problem list); the Shopify CSV reader keeps its own inlined loop because it is the ingest hot path.
"""

from __future__ import annotations

import csv
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from productreel.errors import InputError

from .base import BAD_BYTES, DECODE_ERRORS, BadValue, CatalogProblem, bad_bytes_at, check_currency


def header_names(path: str | Path) -> list[str]:
    """The lower-cased, stripped column names of a CSV file's first row ([] when it has none)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            head = fh.read(65536)
    except OSError:
        return []
    try:
        first = next(csv.reader(head.splitlines()[:1] or [""]))
    except (StopIteration, csv.Error):
        return []
    return [c.strip().lower() for c in first]


class Header:
    """Column indexes by (lower-cased) name; a missing column reads as an empty cell."""

    def __init__(self, names: list[str]) -> None:
        self.names = [n.strip() for n in names]
        self.index: dict[str, int] = {}
        for i, n in enumerate(self.names):
            self.index.setdefault(n.lower(), i)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.index

    def col(self, *names: str) -> int | None:
        """The index of the first of ``names`` that the header has."""
        for n in names:
            i = self.index.get(n.lower())
            if i is not None:
                return i
        return None


class ExportCsv:
    """A storefront's CSV export: the file, the store currency, today's date for sale windows, problems.

    ``since`` is kept but every product is read (an export has no usable update times, or
    reading part of one would drop the children of products left out).
    """

    def __init__(
        self, source: str | Path, *, since: datetime | None = None, currency: str = "USD", today: date | str | None = None
    ) -> None:
        self.path = Path(source)
        self.name = self.path.name
        self.since = since
        try:
            self.currency = check_currency(currency)
        except BadValue as exc:
            raise InputError(f"store currency: {exc}", where=str(self.path)) from None
        if isinstance(today, str):
            today = date.fromisoformat(today)
        self.today = today or datetime.now(timezone.utc).date()
        self.problems: list[CatalogProblem] = []
        if not self.path.is_file():
            raise InputError(f"catalog file not found: {self.path}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def _problem(self, line: int | str, reason: str, product: str | None = None) -> None:
        self.problems.append(CatalogProblem(f"{self.name}:{line}", reason, product))


def read_rows(
    path: Path, problem: Callable[[int, str], None]
) -> tuple[Header | None, Iterator[tuple[int, list[str]]]]:
    """The header and an iterator of (first line number, row) pairs, rows padded to the header's width.

    A row that is not valid CSV or not valid UTF-8 becomes a problem (``problem(line, reason)``)
    and is skipped; empty rows are skipped quietly.
    """
    try:
        fh = open(path, encoding="utf-8-sig", errors=DECODE_ERRORS, newline="")
    except OSError as exc:
        raise InputError(f"catalog file cannot be read: {exc}", where=str(path)) from exc
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.reader(fh, strict=True)
    try:
        names = next(reader)
    except StopIteration:
        fh.close()
        problem(1, "file is empty")
        return None, iter(())
    except csv.Error as exc:
        fh.close()
        problem(1, f"header is not valid CSV: {exc}")
        return None, iter(())
    if bad_bytes_at("".join(names)) is not None:
        fh.close()
        problem(1, "header row is not valid UTF-8")
        return None, iter(())
    header = Header(names)

    def rows() -> Iterator[tuple[int, list[str]]]:
        width = len(names)
        prev_end = reader.line_num
        bad_before = BAD_BYTES[0]
        with fh:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    problem(prev_end + 1, f"row is not valid CSV: {exc}")
                    prev_end = reader.line_num
                    continue
                line, prev_end = prev_end + 1, reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if BAD_BYTES[0] != bad_before and bad_bytes_at("\x1f".join(row)) is not None:
                    problem(line, "row is not valid UTF-8; row skipped")
                    continue
                if len(row) != width:
                    row = (row + [""] * width)[:width]
                yield line, row

    return header, rows()
