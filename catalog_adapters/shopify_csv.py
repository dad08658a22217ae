"""Shopify's product CSV export (current and legacy headers) read into `Product`s.

One row per variant or image; rows sharing a handle (contiguous, as Shopify
exports them) form one product, and the first row carries the product fields.
Beyond Shopify's own columns this reads two documented conventions:

- market prices: ``Price / <Market>``, ``Compare-at price / <Market>`` (or the
  legacy ``Compare At Price / <Market>``) become ``Product.prices[<market lower>]``
  (the cheapest variant's); the currency is ``Currency / <Market>`` when that
  column exists, else ``market_currencies=``, else the currency of the country the market is
  named after (CLDR); ``International`` (Shopify's default market) is the store currency.
- market inclusion: ``Included / <Market>`` FALSE puts ``<market lower>`` in
  ``Product.not_sold_in`` (no market price there, and plan_jobs makes no clips there).
- translations: a translatable column followed by `` (<locale>)``, e.g.
  ``Title (de)``, ``Body (HTML) (ja)``, ``Description (de)``,
  ``Features (product.metafields.custom.features) (de)``.
- features and how-to steps: ``Features (product.metafields.custom.features)``
  and ``How-to steps (product.metafields.custom.howto_steps)``, items separated
  by newlines or ``|`` (a JSON list, as Shopify exports list metafields, works too).

The store currency is not in the export: pass ``currency=`` (default USD).
Products whose ``Status`` is not ``active`` are left out (``statuses="active,draft"`` to include drafts).
"""

from __future__ import annotations

import csv
import io
import os
import pickle
import re
import signal
import sys
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from pydantic import ValidationError

from productreel.errors import InputError
from productreel.models import Product

from .base import (
    BAD_BYTES,
    DECODE_ERRORS,
    BadValue,
    CatalogProblem,
    bad_bytes_at,
    check_currency,
    html_to_text,
    market_currency,
    parse_price,
    split_list,
    split_tags,
)
from .base import sorted_payload_hash

# Canonical field -> accepted header spellings (lower-cased), current first, then legacy.
FIELDS: dict[str, tuple[str, ...]] = {
    "handle": ("url handle", "handle"),
    "title": ("title",),
    "body": ("description", "body (html)", "body html"),
    "vendor": ("vendor",),
    "product_category": ("product category",),
    "type": ("type",),
    "tags": ("tags",),
    "status": ("status",),
    "sku": ("sku", "variant sku"),
    "price": ("price", "variant price"),
    "compare": ("compare-at price", "variant compare at price", "compare at price"),
    "barcode": ("barcode", "variant barcode"),
    "image_src": ("product image url", "image src"),
    "image_alt": ("image alt text",),
    "variant_image": ("variant image url", "variant image"),
    "seo_title": ("seo title",),
}
for _n in (1, 2, 3):
    FIELDS[f"opt{_n}_name"] = (f"option{_n} name",)
    FIELDS[f"opt{_n}_value"] = (f"option{_n} value",)

_MARKET_COL = re.compile(r"^(price|compare[- ]at price|compare at price|currency|included)\s*/\s*(.+)$", re.I)
_LOCALE_COL = re.compile(r"^(.*\S)\s+\(([a-z]{2,3}(?:[-_][a-z0-9]{2,4})?)\)$", re.I)
_FEATURES = re.compile(r"^features\b|metafields\.[\w.]*features", re.I)
_STEPS = re.compile(r"^(how-?to )?steps\b|^how-?to\b|metafields\.[\w.]*(howto|how_to|steps)", re.I)


def _base_kind(header: str) -> str | None:
    """Which translatable product field a (locale-less) header is, if any."""
    low = header.strip().lower()
    if low == "title":
        return "title"
    if low in ("description", "body (html)", "body html"):
        return "body"
    if _FEATURES.search(header):
        return "features"
    if _STEPS.search(header):
        return "steps"
    return None


class _Layout:
    """Column indexes resolved once from the header row.

    A missing column maps to index ``width``: every row gets one empty cell
    appended there, so the hot loop never tests for absent columns.
    """

    def __init__(self, header: list[str]) -> None:
        self.width = width = len(header)
        low = [h.strip().lower() for h in header]
        first: dict[str, int] = {}
        for i, h in enumerate(low):
            first.setdefault(h, i)
        self.present: set[str] = set()
        self.idx: dict[str, int] = {}
        for field, names in FIELDS.items():
            found = next((first[n] for n in names if n in first), None)
            if found is not None:
                self.present.add(field)
            self.idx[field] = width if found is None else found
        self.features = width
        self.steps = width
        self.translations: dict[str, dict[str, int]] = {}
        self.markets: dict[str, dict[str, int]] = {}
        self.market_names: dict[str, str] = {}
        for i, h in enumerate(header):
            h = h.strip()
            m = _MARKET_COL.match(h)
            if m:
                what = m.group(1).lower()
                what = what if what in ("currency", "price", "included") else "compare"
                key = m.group(2).strip().lower()
                self.market_names.setdefault(key, m.group(2).strip())
                self.markets.setdefault(key, {})[what] = i
                continue
            m = _LOCALE_COL.match(h)
            if m and (base := _base_kind(m.group(1))):
                locale = m.group(2).replace("_", "-")
                self.translations.setdefault(locale, {}).setdefault(base, i)
                continue
            kind = _base_kind(h)
            if kind == "features" and self.features == width:
                self.features = i
            elif kind == "steps" and self.steps == width:
                self.steps = i
        i = self.idx
        self.hot = (i["image_src"], i["image_alt"], i["variant_image"], i["sku"], i["price"], i["opt1_value"], i["compare"], i["barcode"])
        self.translations_sorted = sorted(self.translations.items())
        # (name column, value column, name when the name cell is empty) per option, for each new product
        self.option_cols = [
            (i[f"opt{n}_name"], i[f"opt{n}_value"], f"Option{n}") for n in (1, 2, 3) if f"opt{n}_value" in self.present
        ]
        # (market key, label, price column, compare column, currency column) for the hot loop
        self.market_cols = [
            (key, self.market_names[key], cols["price"], cols.get("compare", width), cols.get("currency", width))
            for key, cols in self.markets.items()
            if "price" in cols
        ]
        self.market_cols_sorted = sorted(self.market_cols)
        self.included = {key: cols["included"] for key, cols in self.markets.items() if "included" in cols}
        # (locale, title, body, features, steps columns) per locale, sorted; a column the locale lacks reads empty
        self.translation_cols = [
            (locale, *(cols.get(kind, width) for kind in ("title", "body", "features", "steps")))
            for locale, cols in self.translations_sorted
        ]
        self.product_cols = (i["title"], i["body"], i["vendor"], i["type"], i["product_category"], i["tags"])

    def missing(self) -> list[str]:
        """Required columns that the header lacks."""
        need = [("handle", "URL handle/Handle"), ("title", "Title")]
        return [label for field, label in need if field not in self.present]


# A plain price ("18.00", "2400") is already the canonical text of its Decimal; matching it is
# cheaper than building one. Up to 6 decimals keeps str(Decimal) out of exponent notation.
_PLAIN_PRICE = re.compile(r"(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,6})?\Z").match


def price_text(cell: str, what: str = "price") -> str | None:
    """The canonical decimal text of a price cell (None when empty); BadValue when it is not a price."""
    if _PLAIN_PRICE(cell):
        return cell
    value = parse_price(cell, what)
    return None if value is None else str(value)


# How many distinct price cells a reader remembers the canonical text (and rank) of.
_KNOWN_PRICES = 8192
# How many description cells (of up to _HTML_KEEP_CHARS characters) a reader remembers the text of.
_KNOWN_HTML = 4096
_HTML_KEEP_CHARS = 2048

# One validation per product (nested, in pydantic-core) is several times faster than one per row.
_product = Product.model_validate


class ShopifyCsv:
    """Shopify product CSV export (current or legacy headers)."""

    kind = "shopify-csv"

    def __init__(
        self,
        source: str | Path,
        *,
        since: datetime | None = None,
        currency: str = "USD",
        market_currencies: dict[str, str] | None = None,
        statuses: str | list[str] = "active",
        workers: int | str = 2,
        **_options: object,
    ) -> None:
        self.path = Path(source)
        try:
            self.workers = int(workers)  # ingest: 2 reads a large file's second half in a second process
        except ValueError:
            raise InputError(f"workers: {workers!r} is not a number", where=str(source)) from None
        # Like the Admin API reader (status:active), drafts and archived products make no videos
        # unless asked for; a file without a Status column is read whole.
        if isinstance(statuses, str):
            statuses = [x for x in statuses.replace(" ", "").split(",") if x]
        self.statuses = {x.lower() for x in statuses}
        self.name = self.path.name
        self.since = since  # the CSV export carries no update times, so every product is read
        try:
            self.currency = check_currency(currency)
        except BadValue as exc:
            raise InputError(f"store currency: {exc}", where=str(self.path)) from None
        self.market_currencies = {k.lower(): v for k, v in (market_currencies or {}).items()}
        self.problems: list[CatalogProblem] = []
        if not self.path.is_file():
            raise InputError(f"catalog file not found: {self.path}")

    def _problem(self, line: int | str, reason: str, product: str | None = None) -> None:
        self.problems.append(CatalogProblem(f"{self.name}:{line}", reason, product))

    def products(self) -> Iterator[Product]:
        """Yield one Product per handle; bad rows become problems and reading goes on."""
        for record in self.records():
            try:
                yield _product(record)
            except ValidationError as exc:
                self._problem(record["source"].rsplit(":", 1)[-1], f"{exc.errors()[0]['msg']}; product skipped", record["handle"])

    def records(self) -> Iterator[dict[str, Any]]:
        """Each product as the plain dict that Product validates, JSON-ready (decimals as canonical strings).

        This is the fast path of ``ingest``: the dict is already the JSON Lines shape.
        """
        try:
            fh = open(self.path, encoding="utf-8-sig", errors=DECODE_ERRORS, newline="")
        except OSError as exc:
            raise InputError(f"catalog file cannot be read: {exc}", where=str(self.path)) from exc
        with fh:
            yield from self._read(fh)

    def ingest_items(
        self, encode: Callable[[Iterable[dict[str, Any]], list[CatalogProblem], Callable[[bytes], Any]], None]
    ) -> Iterator[dict[str, Any] | bytes]:
        """records() in the JSON Lines shape, a large file's second half read and encoded meanwhile by a second process (ingest's path).

        ``encode(records, problems, write)`` is ingest's JSON Lines encoder. The worker (a fork, on Linux,
        when ``workers`` is 2, the file has at least _PARALLEL_MIN_BYTES and a CPU is free: _fork_is_safe)
        reads the rows after a product break near the middle as a fresh reader would; when this process
        has read up to that line, the worker's JSON Lines come as bytes items and its problems join
        ``problems`` -- provided nothing there depends on what came before: the break falls between rows,
        the worker's part starts with a product's first row (no problem before it), and none of its
        handles or SKUs appeared before. Otherwise its work is dropped and this process reads on: the
        output is the same either way.
        """
        tail = _Tail.start(self, encode) if self.workers >= 2 else None
        try:
            fh = open(self.path, encoding="utf-8-sig", errors=DECODE_ERRORS, newline="")
        except OSError as exc:
            if tail is not None:
                tail.release()
            raise InputError(f"catalog file cannot be read: {exc}", where=str(self.path)) from exc
        try:
            with fh:
                yield from self._read(fh, tail=tail, shaped=True)
        finally:
            if tail is not None:
                tail.release()

    def _tail(self, start: int, line_offset: int, encode: Callable, out: Any) -> bytes:
        """In the worker: encode the rows from byte ``start`` on into ``out``; the pickled (problems, handles, SKUs, problems before the first handle)."""
        with open(self.path, encoding="utf-8-sig", errors=DECODE_ERRORS, newline="") as head:
            header = next(csv.reader(head, strict=True))
        self.problems = []
        with open(self.path, "rb") as raw:
            raw.seek(start)
            text = io.TextIOWrapper(raw, encoding="utf-8", errors=DECODE_ERRORS, newline="")
            encode(self._read(text, header=header, line_offset=line_offset, shaped=True), self.problems, out.write)
        out.flush()
        problems = [(p.where, p.reason, p.product) for p in self.problems]
        before_first = len(problems) if self._before_first is None else self._before_first
        return pickle.dumps((problems, list(self._seen), list(self._skus), before_first), protocol=pickle.HIGHEST_PROTOCOL)

    def _read(
        self,
        fh,
        *,
        header: list[str] | None = None,
        line_offset: int = 0,
        tail: "_Tail | None" = None,
        shaped: bool = False,
    ) -> Iterator[dict[str, Any] | bytes]:
        """Records of the rows in ``fh`` (in the JSON Lines shape when ``shaped``: no description_html, every key in place)."""
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        bad_before = BAD_BYTES[0]
        reader = csv.reader(fh, strict=True)  # strict: a broken quote is a problem, not a merged row
        if header is None:
            try:
                header = next(reader)
            except StopIteration:
                self._problem(1, "file is empty")
                return
            except csv.Error as exc:
                self._problem(1, f"header is not valid CSV: {exc}")
                return
        if bad_bytes_at("".join(header)) is not None:
            self._problem(1, "header row is not valid UTF-8")
            return
        lay = _Layout(header)
        if missing := lay.missing():
            self._problem(1, f"not a Shopify product CSV: missing column(s) {', '.join(missing)}")
            return
        self._currency_cache: dict[str, str | None] = {}
        self._market_currency_of: dict[str, str] = {}  # market -> its currency when its Currency cell is empty
        self._html_texts: dict[str, str] = {}  # description cell -> html_to_text(cell)
        self._price_texts: dict[str, str] = {}  # price cell -> price_text(cell), for cells that are prices
        self._price_ranks: dict[str, tuple[float, str]] = {}  # market price cell -> (rank, price_text(cell))
        self._skus: dict[str, int] = {}
        # The hot loop below holds everything it touches per row in locals: one product's rows are
        # read into its variants, images and market prices here, and _finish builds the record.
        problem = self._problem
        to_price = self._price_text
        finish = self._finish
        known = self._price_texts
        ranked = self._price_ranks
        skus = self._skus
        store_currency = self.currency
        statuses = self.statuses
        self._seen = seen = {}  # handle -> line of its first row
        self._before_first: int | None = None  # problems said before the first row with a handle
        skipping: str | None = None  # the handle whose rows are being skipped
        i_handle, i_title, i_status = lay.idx["handle"], lay.idx["title"], lay.idx["status"]
        i_src, i_alt, i_vimg, i_sku, i_price, i_opt1, i_cmp, i_bar = lay.hot
        market_cols = lay.market_cols
        option_cols = lay.option_cols
        width = lay.width
        prev_end = reader.line_num + line_offset
        boundary = -1 if tail is None else tail.boundary  # the last line before the worker's part
        # the product being read: its handle (None: none), first line and row, and what its rows added
        current: str | None = None
        first_line = 0
        first_row: list[str] = []
        variants: list[dict] = []
        images: list[dict] = []
        srcs: set[str] = set()
        prices: dict[str, tuple] = {}
        options: list[tuple[int, str]] = []  # (value column, option name), from the first row
        sorted_options = True  # the option names are in sorted order: each variant's options dict is already sorted
        two = False
        va = vb = width
        na = nb = ""
        hash_variants: list[list] = []  # each variant as Product.content_hash has it
        hash_images: list[list[str]] = []
        while True:
            try:
                for row in reader:
                    if prev_end == boundary and tail is not None:
                        # the rows up to here are read: the worker's part follows, if nothing there depends on them
                        got = tail.take(seen, skus)
                        if got is not None:
                            if current is not None:
                                yield finish(current, first_line, first_row, variants, images, prices, hash_variants, hash_images, lay, shaped)
                            yield from tail.lines()
                            self.problems.extend(got)
                            return
                    line = prev_end + 1
                    prev_end = reader.line_num + line_offset
                    if len(row) != width:
                        if not row:
                            continue
                        row = (row + [""] * width)[:width]
                    row.append("")
                    if BAD_BYTES[0] != bad_before and bad_bytes_at("\x1f".join(row)) is not None:
                        handle = row[i_handle].strip()
                        problem(line, "row is not valid UTF-8; row skipped", (handle or None) if bad_bytes_at(handle) is None else None)
                        continue
                    handle = row[i_handle]
                    if handle != current and (handle := handle.strip()) != current:
                        # the first row of a product (or a row to skip)
                        if handle == skipping:
                            continue
                        if not handle:
                            if any(cell.strip() for cell in row):
                                problem(line, "row has no handle; row skipped")
                            continue
                        if self._before_first is None:
                            self._before_first = len(self.problems)
                        if current is not None:
                            yield finish(current, first_line, first_row, variants, images, prices, hash_variants, hash_images, lay, shaped)
                            current = None
                        if handle in seen:
                            problem(line, f"rows of this handle must follow its first row (line {seen[handle]}); rows skipped", handle)
                            skipping = handle
                            continue
                        seen[handle] = line
                        status = row[i_status].strip().lower()
                        if status and statuses and status not in statuses:
                            skipping = handle  # a draft or archived product: not an error, just not wanted
                            continue
                        if not row[i_title].strip():
                            problem(line, "handle has no title row (the first row of a product needs a Title); product skipped", handle)
                            skipping = handle
                            continue
                        skipping = None
                        current, first_line, first_row = handle, line, row
                        variants, images, srcs, prices, hash_variants, hash_images = [], [], set(), {}, [], []
                        # Option names live on the first row only; later rows carry values.
                        options = [(vi, row[ni].strip() or default) for ni, vi, default in option_cols]
                        names = [name for _vi, name in options]
                        sorted_options = all(a < b for a, b in zip(names, names[1:]))
                        # two options with different names, neither "Title" (whose "Default Title" is no option):
                        # a row with both values is read without the loop below
                        two = len(options) == 2 and names[0] != names[1] and "Title" not in names
                        if two:
                            (va, na), (vb, nb) = options
                    # a row of the current product: its images, its variant and its market prices
                    src = row[i_src]
                    if src and (src := src.strip()) and src not in srcs:
                        srcs.add(src)
                        alt = row[i_alt].strip()
                        images.append({"src": src, "alt": alt})
                        hash_images.append([src, alt])
                    src = row[i_vimg]
                    if src and (src := src.strip()) and src not in srcs:
                        srcs.add(src)
                        images.append({"src": src, "alt": ""})
                        hash_images.append([src, ""])
                    sku = row[i_sku].strip()
                    cell = row[i_price]
                    if not (sku or cell or row[i_opt1]):
                        continue  # an image-only row
                    price = known.get(cell)  # the common case: a price cell read before
                    if price is None and cell:
                        try:
                            price = to_price(cell)
                        except BadValue as exc:
                            problem(line, f"{exc}; variant skipped", current)
                            continue
                    if sku:
                        first = skus.get(sku)
                        if first is not None:
                            problem(line, f"duplicate SKU {sku!r} (first on line {first}); variant skipped", current)
                            continue
                        skus[sku] = line
                    compare = None
                    cell = row[i_cmp]
                    if cell and (compare := known.get(cell)) is None:
                        try:
                            compare = to_price(cell, "compare-at price")
                        except BadValue as exc:
                            problem(line, f"{exc}; compare-at price left out", current)
                    if two and (a := row[va].strip()) and (b := row[vb].strip()):
                        chosen = {na: a, nb: b}
                        title = f"{a} / {b}"
                    else:
                        chosen = {}
                        for vi, name in options:
                            value = row[vi]
                            if value and (value := value.strip()) and not (name == "Title" and value == "Default Title"):
                                chosen[name] = value
                        title = " / ".join(chosen.values()) if chosen else "Default Title"
                    variants.append(
                        {
                            "sku": sku,
                            "title": title,
                            "options": chosen,
                            "price": price,
                            "currency": store_currency,
                            "compare_at_price": compare,
                            "gtin": row[i_bar].strip().lstrip("'"),
                        }
                    )
                    hash_variants.append(
                        [price or "None", store_currency, compare or "None", title, chosen if sorted_options else dict(sorted(chosen.items()))]
                    )
                    for key, label, pi, ci, _cur in market_cols:
                        cell = row[pi]
                        if not cell:
                            continue
                        try:
                            found = ranked.get(cell)
                            if found is None:
                                amount = to_price(cell)
                                # float only ranks the variants (the cheapest is the market's price); the text stays exact
                                found = None if amount is None else (float(amount), amount)
                                if found is not None and len(ranked) < _KNOWN_PRICES:
                                    ranked[cell] = found
                            mcompare = None
                            if cmp_cell := row[ci]:
                                mcompare = known.get(cmp_cell) or to_price(cmp_cell, "compare-at price")
                        except BadValue as exc:
                            problem(line, f"market {label}: {exc}; market price left out", current)
                            continue
                        if found is None:
                            continue
                        old = prices.get(key)
                        if old is None or found[0] < old[0]:
                            prices[key] = (found[0], found[1], mcompare, line)
                break
            except csv.Error as exc:
                problem(prev_end + 1, f"row is not valid CSV: {exc}")
                prev_end = reader.line_num + line_offset
        if current is not None:
            yield finish(current, first_line, first_row, variants, images, prices, hash_variants, hash_images, lay, shaped)

    def _price_text(self, cell: str, what: str = "price") -> str | None:
        """price_text, remembering the answer for the cell (up to _KNOWN_PRICES cells): catalogs repeat prices."""
        text = price_text(cell, what)
        if text is not None and len(self._price_texts) < _KNOWN_PRICES:
            self._price_texts[cell] = text
        return text

    def _market_currency(self, key: str, label: str, first_row: list[str], ci: int) -> str:
        """The currency of a market column: its Currency column, the option mapping, or the country's."""
        if first_row[ci].strip():
            return check_currency(first_row[ci])
        known = self._market_currency_of.get(key)
        if known is not None:
            return known
        if key in self.market_currencies:
            found: str | None = check_currency(self.market_currencies[key])
        elif key == "international":  # Shopify's default market sells in the store currency unless told otherwise
            found = self.currency
        else:
            if key not in self._currency_cache:
                self._currency_cache[key] = market_currency(key)
            found = self._currency_cache[key]
            if found is None:
                raise BadValue(f"no currency known for market {label!r}; add a 'Currency / {label}' column")
        self._market_currency_of[key] = found
        return found

    def _finish(
        self,
        handle: str,
        line: int,
        row: list[str],
        variants: list[dict],
        images: list[dict],
        found: dict[str, tuple],
        hash_variants: list[list],
        hash_images: list[list[str]],
        lay: _Layout,
        shaped: bool,
    ) -> dict[str, Any]:
        """The record of a product from its first row and what its rows added, with its content hash."""
        # "Included / <Market>" FALSE: the product is not sold there (no price, and no clips: plan_jobs)
        not_sold = (
            sorted(key for key, col in lay.included.items() if row[col].strip().lower() in ("false", "no", "0"))
            if lay.included
            else []
        )
        prices: dict[str, dict] = {}
        hash_prices: dict[str, dict] = {}
        if found:
            for key, label, _pi, _ci, cur in lay.market_cols_sorted:
                if key not in found or key in not_sold:
                    continue
                _rank, amount, compare, at = found[key]
                try:
                    currency = self._market_currency(key, label, row, cur)
                except BadValue as exc:
                    self._problem(at, f"{exc}; market price left out", handle)
                    continue
                prices[key] = {"amount": amount, "currency": currency, "compare_at": compare}
                hash_prices[key] = {"amount": amount, "compare_at": compare, "currency": currency}
        translations: dict[str, dict] = {}
        hash_translations: dict[str, dict] = {}
        html_texts = self._html_texts
        for locale, i_title, i_body, i_feat, i_steps in lay.translation_cols:
            t_title = row[i_title].strip()
            t_body = row[i_body]
            t_feat = split_list(cell) if (cell := row[i_feat]) else []
            t_steps = split_list(cell) if (cell := row[i_steps]) else []
            if t_title or t_body.strip() or t_feat or t_steps:
                t_text = html_texts.get(t_body) or self._html_text(t_body)
                translations[locale] = {"title": t_title, "description": t_text, "features": t_feat, "steps": t_steps}
                hash_translations[locale] = {"description": t_text, "features": t_feat, "steps": t_steps, "title": t_title}
        i_title, i_body, i_vendor, i_type, i_category, i_tags = lay.product_cols
        title = row[i_title].strip()
        body = row[i_body]
        description = html_texts.get(body) or self._html_text(body)
        brand = row[i_vendor].strip()
        features = split_list(cell) if (cell := row[lay.features]) else []
        steps = split_list(cell) if (cell := row[lay.steps]) else []
        # Product.content_hash's payload with every key already in sorted order, so no sorting pass
        # (ingest checks the first products' hashes against the model's)
        content_hash = sorted_payload_hash(
            {
                "brand": brand,
                "description": description,
                "features": features,
                "images": hash_images,
                "prices": hash_prices,
                "steps": steps,
                "title": title,
                "translations": hash_translations,
                "variants": hash_variants,
            }
        )
        # The JSON Lines shape, key order included (ingest writes a shaped record as it is); the model's path
        # also gets the body's HTML, which the JSON Lines leave out.
        record = {
            "id": handle,
            "handle": handle,
            "title": title,
            "description": description,
            "brand": brand,
            "category": row[i_type].strip() or row[i_category].split(">")[-1].strip(),
            "tags": split_tags(row[i_tags]),
            "variants": variants,
            "images": images,
            "features": features,
            "steps": steps,
            "translations": translations,
            "prices": prices,
            "updated_at": None,
            "source": f"{self.name}:{line}",
            "not_sold_in": not_sold,
            "link": "",
            "cta": "",
            "content_hash": content_hash,
        }
        if not shaped:
            record["description_html"] = body.strip()
        return record

    def _html_text(self, cell: str) -> str:
        """html_to_text, remembering the answer for short cells (catalogs repeat descriptions, translations most)."""
        text = self._html_texts.get(cell)
        if text is None:
            text = html_to_text(cell)
            if len(cell) <= _HTML_KEEP_CHARS and len(self._html_texts) < _KNOWN_HTML:
                self._html_texts[cell] = text
        return text


# A Shopify CSV at least this large is read by two processes when ingested (ShopifyCsv.ingest_items).
_PARALLEL_MIN_BYTES = 8_000_000
# How far past the middle a product break is looked for (a product's rows are far shorter).
_BREAK_SEARCH_BYTES = 8 << 20


def _product_break(path: Path) -> tuple[int, int] | None:
    """(offset, lines before it) of a line break after the middle of the file that likely ends a product's rows, or None.

    A guess the reader checks: the break is outside quotes when the quotes before it are even, and
    the next row is another product's when its first field (Shopify's handle) differs from the row before.
    Lines are counted as b"\\n": None when a line before the break ends with a lone "\\r".
    """
    block = 1 << 20
    with open(path, "rb") as fh:
        middle = fh.seek(0, os.SEEK_END) // 2
        fh.seek(0)
        lines = quotes = done = 0
        while done < middle:  # count up to the middle in blocks: no copy of the file in memory
            chunk = fh.read(min(block, middle - done))
            if not chunk:
                return None
            if b"\r" in chunk and (chunk.count(b"\r") != chunk.count(b"\r\n") or chunk.endswith(b"\r")):
                return None
            lines += chunk.count(b"\n")
            quotes += chunk.count(b'"')
            done += len(chunk)
        rest = b""
        cut = -1  # offset in rest of the last line break seen
        before = None  # the first field of the last row start seen
        while True:
            nxt = rest.find(b"\n", cut + 1)
            if nxt < 0:
                more = fh.read(block) if len(rest) < _BREAK_SEARCH_BYTES else b""
                if not more:
                    return None  # the end of the file, or no break where one product's rows could end
                rest += more
                continue
            segment = rest[cut + 1 : nxt + 1]
            if b"\r" in segment and segment.count(b"\r") != segment.count(b"\r\n"):
                return None
            if cut >= 0 and quotes % 2 == 0:  # a row starts after cut
                first = segment.split(b",", 1)[0]
                if before is not None and first != before and first.strip() and not first.startswith(b'"'):
                    return middle + cut + 1, lines
                before = first
            quotes += segment.count(b'"')
            lines += 1
            cut = nxt


def _fork_is_safe() -> bool:
    """Fork only where it is cheap (Linux), a CPU is free for the worker now, and no other thread can hold a lock it needs.

    Two processes time-sliced on busy CPUs cost up to half again the CPU for no wall-clock gain,
    so the worker needs a CPU that nothing else wants: fewer runnable tasks than usable CPUs.
    """
    if sys.platform != "linux" or threading.active_count() != 1:
        return False
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            runnable = int(fh.read().split()[3].split("/")[0])  # "0.52 0.58 0.59 2/345 1234": 2 runnable now, this one too
    except (OSError, ValueError, IndexError):
        return False
    return runnable < len(os.sched_getaffinity(0))


class _Tail:
    """A forked worker reading and encoding a file's rows after a line break near the middle.

    Its JSON Lines go to an unnamed temporary file (read back only when they are used), the rest
    (problems, handles, SKUs) through a pipe.
    """

    def __init__(self, pid: int, fd: int, boundary: int, out: Any) -> None:
        self.pid, self.fd, self.boundary, self.out = pid, fd, boundary, out

    @classmethod
    def start(cls, reader: ShopifyCsv, encode: Callable) -> "_Tail | None":
        """The worker for ``reader``'s file, or None where there is none: small file, no fork, other threads, no break."""
        if not _fork_is_safe():
            return None
        try:
            if reader.path.stat().st_size < _PARALLEL_MIN_BYTES:
                return None
            found = _product_break(reader.path)
            if found is None:
                return None
            out = tempfile.TemporaryFile()
        except OSError:
            return None  # the reader says why
        start, boundary = found
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            code = 1
            try:
                os.close(r)
                payload = reader._tail(start, boundary, encode, out)
                with os.fdopen(w, "wb") as pipe:
                    pipe.write(payload)
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        return cls(pid, r, boundary, out)

    def take(self, seen: dict[str, int], skus: dict[str, int]) -> list[CatalogProblem] | None:
        """The worker's problems when its part follows the rows read so far as it is (lines() then has its JSON Lines); None when not."""
        chunks = []
        try:
            while chunk := os.read(self.fd, 1 << 20):
                chunks.append(chunk)
        except OSError:
            return None
        finally:
            self.close(kill=False)  # it has written all it will (or died)
        try:
            problems, handles, tail_skus, before_first = pickle.loads(b"".join(chunks))
        except Exception:
            return None  # the worker failed: this process reads on
        if before_first or not seen.keys().isdisjoint(handles) or not skus.keys().isdisjoint(tail_skus):
            return None
        return [CatalogProblem(*p) for p in problems]

    def lines(self) -> Iterator[bytes]:
        """The worker's JSON Lines, in blocks."""
        self.out.seek(0)
        while block := self.out.read(1 << 20):
            yield block

    def close(self, kill: bool = True) -> None:
        """Stop (unless it is done) and reap the worker, once; the JSON Lines stay readable until release()."""
        if self.pid:
            if kill:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.waitpid(self.pid, 0)
            os.close(self.fd)
            self.pid = 0

    def release(self) -> None:
        self.close()
        self.out.close()
