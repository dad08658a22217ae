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
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

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

    def missing(self) -> list[str]:
        """Required columns that the header lacks."""
        need = [("handle", "URL handle/Handle"), ("title", "Title")]
        return [label for field, label in need if field not in self.present]


class _Group:
    """The rows of one handle while they are being read."""

    __slots__ = ("handle", "line", "row", "variants", "images", "srcs", "prices", "options")

    def __init__(self, handle: str, line: int, row: list[str], lay: _Layout) -> None:
        self.handle = handle
        self.line = line
        self.row = row
        self.variants: list[dict] = []
        self.images: list[dict] = []
        self.srcs: set[str] = set()
        self.prices: dict[str, tuple] = {}
        # Option names live on the first row only; later rows carry values.
        self.options = [(vi, row[ni].strip() or default) for ni, vi, default in lay.option_cols]


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
        **_options: object,
    ) -> None:
        self.path = Path(source)
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

    def _read(self, fh) -> Iterator[dict[str, Any]]:
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        bad_before = BAD_BYTES[0]
        reader = csv.reader(fh, strict=True)  # strict: a broken quote is a problem, not a merged row
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
        self._price_texts: dict[str, str] = {}  # price cell -> price_text(cell), for cells that are prices
        self._price_ranks: dict[str, tuple[float, str]] = {}  # market price cell -> (rank, price_text(cell))
        self._skus: dict[str, int] = {}
        seen: dict[str, int] = {}
        group: _Group | None = None
        skipping: str | None = None  # the handle whose rows are being skipped
        i_handle, i_title, i_status = lay.idx["handle"], lay.idx["title"], lay.idx["status"]
        width = lay.width
        prev_end = reader.line_num
        add_row = self._add_row
        current = None  # the handle of ``group``
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                self._problem(prev_end + 1, f"row is not valid CSV: {exc}")
                prev_end = reader.line_num
                continue
            line = prev_end + 1
            prev_end = reader.line_num
            if len(row) != width:
                if not row:
                    continue
                row = (row + [""] * width)[:width]
            row.append("")
            if BAD_BYTES[0] != bad_before and bad_bytes_at("\x1f".join(row)) is not None:
                handle = row[i_handle].strip()
                self._problem(line, "row is not valid UTF-8; row skipped", (handle or None) if bad_bytes_at(handle) is None else None)
                continue
            handle = row[i_handle]
            if handle == current or (handle := handle.strip()) == current:
                add_row(group, row, line, lay)
                continue
            if handle == skipping:
                continue
            if not handle:
                if any(cell.strip() for cell in row):
                    self._problem(line, "row has no handle; row skipped")
                continue
            if group is not None:
                yield self._finish(group, lay)
                group = current = None
            if handle in seen:
                self._problem(line, f"rows of this handle must follow its first row (line {seen[handle]}); rows skipped", handle)
                skipping = handle
                continue
            seen[handle] = line
            status = row[i_status].strip().lower()
            if status and self.statuses and status not in self.statuses:
                skipping = handle  # a draft or archived product: not an error, just not wanted
                continue
            if not row[i_title].strip():
                self._problem(line, "handle has no title row (the first row of a product needs a Title); product skipped", handle)
                skipping = handle
                continue
            skipping = None
            group, current = _Group(handle, line, row, lay), handle
            add_row(group, row, line, lay)
        if group is not None:
            yield self._finish(group, lay)

    def _add_row(self, g: _Group, row: list[str], line: int, lay: _Layout) -> None:
        """Add a row's variant, images and market prices to its product."""
        i_src, i_alt, i_vimg, i_sku, i_price, i_opt1, i_cmp, i_bar = lay.hot
        src = row[i_src]
        if src and (src := src.strip()) and src not in g.srcs:
            g.srcs.add(src)
            g.images.append({"src": src, "alt": row[i_alt].strip()})
        vsrc = row[i_vimg]
        if vsrc and (vsrc := vsrc.strip()) and vsrc not in g.srcs:
            g.srcs.add(vsrc)
            g.images.append({"src": vsrc, "alt": ""})
        sku = row[i_sku].strip()
        price_cell = row[i_price]
        if not (sku or price_cell or row[i_opt1]):
            return  # an image-only row
        known = self._price_texts
        price = known.get(price_cell)  # the common case: a price cell read before
        if price is None and price_cell:
            try:
                price = self._price_text(price_cell)
            except BadValue as exc:
                self._problem(line, f"{exc}; variant skipped", g.handle)
                return
        if sku:
            first = self._skus.get(sku)
            if first is not None:
                self._problem(line, f"duplicate SKU {sku!r} (first on line {first}); variant skipped", g.handle)
                return
            self._skus[sku] = line
        compare = None
        cell = row[i_cmp]
        if cell and (compare := known.get(cell)) is None:
            try:
                compare = self._price_text(cell, "compare-at price")
            except BadValue as exc:
                self._problem(line, f"{exc}; compare-at price left out", g.handle)
        options: dict[str, str] = {}
        for vi, name in g.options:
            value = row[vi]
            if value and (value := value.strip()) and not (name == "Title" and value == "Default Title"):
                options[name] = value
        g.variants.append(
            {
                "sku": sku,
                "title": " / ".join(options.values()) if options else "Default Title",
                "options": options,
                "price": price,
                "currency": self.currency,
                "compare_at_price": compare,
                "gtin": row[i_bar].strip().lstrip("'"),
            }
        )
        prices = g.prices
        ranked = self._price_ranks
        for key, label, pi, ci, _cur in lay.market_cols:
            cell = row[pi]
            if not cell:
                continue
            try:
                found = ranked.get(cell)
                if found is None:
                    amount = self._price_text(cell)
                    # float only ranks the variants (the cheapest is the market's price); the text stays exact
                    found = None if amount is None else (float(amount), amount)
                    if found is not None and len(ranked) < _KNOWN_PRICES:
                        ranked[cell] = found
                mcompare = None
                if cmp_cell := row[ci]:
                    mcompare = known.get(cmp_cell) or self._price_text(cmp_cell, "compare-at price")
            except BadValue as exc:
                self._problem(line, f"market {label}: {exc}; market price left out", g.handle)
                continue
            if found is None:
                continue
            old = prices.get(key)
            if old is None or found[0] < old[0]:
                prices[key] = (found[0], found[1], mcompare, line)

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
        if key in self.market_currencies:
            return check_currency(self.market_currencies[key])
        if key == "international":  # Shopify's default market sells in the store currency unless told otherwise
            return self.currency
        if key not in self._currency_cache:
            self._currency_cache[key] = market_currency(key)
        found = self._currency_cache[key]
        if found is None:
            raise BadValue(f"no currency known for market {label!r}; add a 'Currency / {label}' column")
        return found

    def _finish(self, g: _Group, lay: _Layout) -> dict[str, Any]:
        """Build the Product from its collected rows."""
        row, idx = g.row, lay.idx
        # "Included / <Market>" FALSE: the product is not sold there (no price, and no clips: plan_jobs)
        not_sold = sorted(key for key, col in lay.included.items() if row[col].strip().lower() in ("false", "no", "0"))
        prices: dict[str, dict] = {}
        for key, label, _pi, _ci, cur in lay.market_cols_sorted:
            if key not in g.prices or key in not_sold:
                continue
            _rank, amount, compare, line = g.prices[key]
            try:
                currency = self._market_currency(key, label, row, cur)
            except BadValue as exc:
                self._problem(line, f"{exc}; market price left out", g.handle)
                continue
            prices[key] = {"amount": amount, "currency": currency, "compare_at": compare}
        body = row[idx["body"]]
        translations: dict[str, dict] = {}
        for locale, cols in lay.translations_sorted:
            t_title = row[cols["title"]].strip() if "title" in cols else ""
            t_body = row[cols["body"]] if "body" in cols else ""
            t_feat = split_list(row[cols["features"]]) if "features" in cols else []
            t_steps = split_list(row[cols["steps"]]) if "steps" in cols else []
            if t_title or t_body.strip() or t_feat or t_steps:
                translations[locale] = {
                    "title": t_title, "description": html_to_text(t_body), "features": t_feat, "steps": t_steps
                }
        category = row[idx["type"]].strip() or row[idx["product_category"]].split(">")[-1].strip()
        return (
            {
                "id": g.handle,
                "handle": g.handle,
                "title": row[idx["title"]].strip(),
                "description": html_to_text(body),
                "description_html": body.strip(),
                "brand": row[idx["vendor"]].strip(),
                "category": category,
                "tags": split_tags(row[idx["tags"]]),
                "variants": g.variants,
                "images": g.images,
                "features": split_list(row[lay.features]),
                "steps": split_list(row[lay.steps]),
                "translations": translations,
                "prices": prices,
                "source": f"{self.name}:{g.line}",
                "not_sold_in": not_sold,
            }
        )
