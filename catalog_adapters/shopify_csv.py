"""Shopify's product CSV export (current and legacy headers) read into `Product`s.

One row per variant or image; rows sharing a handle (contiguous, as Shopify
exports them) form one product, and the first row carries the product fields.
Beyond Shopify's own columns this reads two documented conventions:

- market prices: ``Price / <Market>``, ``Compare-at price / <Market>`` (or the
  legacy ``Compare At Price / <Market>``) become ``Product.prices[<market lower>]``
  (the cheapest variant's); the currency is ``Currency / <Market>`` when that
  column exists, else the currency of the country the market is named after (CLDR).
- translations: a translatable column followed by `` (<locale>)``, e.g.
  ``Title (de)``, ``Body (HTML) (ja)``, ``Description (de)``,
  ``Features (product.metafields.custom.features) (de)``.
- features and how-to steps: ``Features (product.metafields.custom.features)``
  and ``How-to steps (product.metafields.custom.howto_steps)``, items separated
  by newlines or ``|`` (a JSON list, as Shopify exports list metafields, works too).

The store currency is not in the export: pass ``currency=`` (default USD).
"""

from __future__ import annotations

import csv
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Iterator

from productreel.errors import InputError
from productreel.models import MarketPrice, Product, ProductImage, Translation, Variant

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

_MARKET_COL = re.compile(r"^(price|compare[- ]at price|compare at price|currency)\s*/\s*(.+)$", re.I)
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
    """Column indexes resolved once from the header row."""

    def __init__(self, header: list[str]) -> None:
        low = [h.strip().lower() for h in header]
        first: dict[str, int] = {}
        for i, h in enumerate(low):
            first.setdefault(h, i)
        self.idx: dict[str, int | None] = {}
        for field, names in FIELDS.items():
            self.idx[field] = next((first[n] for n in names if n in first), None)
        self.features: int | None = None
        self.steps: int | None = None
        self.translations: dict[str, dict[str, int]] = {}
        self.markets: dict[str, dict[str, int]] = {}
        self.market_names: dict[str, str] = {}
        for i, h in enumerate(header):
            h = h.strip()
            m = _MARKET_COL.match(h)
            if m:
                what = m.group(1).lower()
                what = "currency" if what == "currency" else ("price" if what == "price" else "compare")
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
            if kind == "features" and self.features is None:
                self.features = i
            elif kind == "steps" and self.steps is None:
                self.steps = i
        self.width = len(header)

    def missing(self) -> list[str]:
        """Required columns that the header lacks."""
        need = [("handle", "URL handle/Handle"), ("title", "Title")]
        return [label for field, label in need if self.idx[field] is None]


class _Group:
    """The rows of one handle while they are being read."""

    __slots__ = ("handle", "line", "row", "variants", "images", "srcs", "prices", "bad")

    def __init__(self, handle: str, line: int, row: list[str]) -> None:
        self.handle = handle
        self.line = line
        self.row = row
        self.variants: list[Variant] = []
        self.images: list[ProductImage] = []
        self.srcs: set[str] = set()
        self.prices: dict[str, MarketPrice] = {}
        self.bad = False


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
        **_options: object,
    ) -> None:
        self.path = Path(source)
        self.name = self.path.name
        self.since = since  # the CSV export carries no update times, so every product is read
        try:
            self.currency = check_currency(currency)
        except BadValue as exc:
            raise InputError(f"store currency: {exc}", where=str(self.path)) from None
        self.market_currencies = {k.lower(): v.upper() for k, v in (market_currencies or {}).items()}
        self.problems: list[CatalogProblem] = []
        if not self.path.is_file():
            raise InputError(f"catalog file not found: {self.path}")

    def _problem(self, line: int | str, reason: str, product: str | None = None) -> None:
        self.problems.append(CatalogProblem(f"{self.name}:{line}", reason, product))

    def products(self) -> Iterator[Product]:
        """Yield one Product per handle; bad rows become problems and reading goes on."""
        try:
            fh = open(self.path, encoding="utf-8-sig", errors=DECODE_ERRORS, newline="")
        except OSError as exc:
            raise InputError(f"catalog file cannot be read: {exc}", where=str(self.path)) from exc
        with fh:
            yield from self._read(fh)

    def _read(self, fh) -> Iterator[Product]:
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        bad_before = BAD_BYTES[0]
        reader = csv.reader(fh)
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
        self._skus: dict[str, int] = {}
        seen: dict[str, int] = {}
        group: _Group | None = None
        i_handle = lay.idx["handle"]
        width = lay.width
        prev_end = reader.line_num
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
            if not row:
                continue
            if BAD_BYTES[0] != bad_before and (pos := bad_bytes_at("\x1f".join(row))) is not None:
                handle = row[i_handle].strip() if len(row) > i_handle else ""
                self._problem(line, "row is not valid UTF-8; row skipped", handle or None)
                continue
            if len(row) < width:
                row = row + [""] * (width - len(row))
            handle = row[i_handle].strip()
            if not handle:
                if any(cell.strip() for cell in row):
                    self._problem(line, "row has no handle; row skipped")
                continue
            if group is None or handle != group.handle:
                if group is not None and not group.bad:
                    product = self._finish(group, lay)
                    if product is not None:
                        yield product
                if handle in seen:
                    self._problem(
                        line, f"rows of this handle must follow its first row (line {seen[handle]}); row skipped", handle
                    )
                    group = _Group(handle, line, row)
                    group.bad = True
                    continue
                seen[handle] = line
                group = _Group(handle, line, row)
                if not row[lay.idx["title"]].strip():  # type: ignore[index]
                    self._problem(line, "handle has no title row (the first row of a product needs a Title); product skipped", handle)
                    group.bad = True
                    continue
            elif group.bad:
                continue
            self._add_row(group, row, line, lay)
        if group is not None and not group.bad:
            product = self._finish(group, lay)
            if product is not None:
                yield product

    def _add_row(self, g: _Group, row: list[str], line: int, lay: _Layout) -> None:
        """Add a row's variant, images and market prices to its product."""
        idx = lay.idx
        src = row[idx["image_src"]].strip() if idx["image_src"] is not None else ""
        if src and src not in g.srcs:
            g.srcs.add(src)
            alt = row[idx["image_alt"]].strip() if idx["image_alt"] is not None else ""
            g.images.append(ProductImage.model_construct(src=src, alt=alt, path=None))
        vsrc = row[idx["variant_image"]].strip() if idx["variant_image"] is not None else ""
        if vsrc and vsrc not in g.srcs:
            g.srcs.add(vsrc)
            g.images.append(ProductImage.model_construct(src=vsrc, alt="", path=None))
        sku = row[idx["sku"]].strip() if idx["sku"] is not None else ""
        price_cell = row[idx["price"]] if idx["price"] is not None else ""
        v1 = row[idx["opt1_value"]].strip() if idx["opt1_value"] is not None else ""
        if not (sku or price_cell.strip() or v1):
            return  # an image-only row
        handle = g.handle
        try:
            price = parse_price(price_cell)
        except BadValue as exc:
            self._problem(line, f"{exc}; variant skipped", handle)
            return
        if sku:
            first = self._skus.get(sku)
            if first is not None:
                self._problem(line, f"duplicate SKU {sku!r} (first on line {first}); variant skipped", handle)
                return
            self._skus[sku] = line
        compare = None
        if idx["compare"] is not None and row[idx["compare"]]:
            try:
                compare = parse_price(row[idx["compare"]], "compare-at price")
            except BadValue as exc:
                self._problem(line, f"{exc}; compare-at price left out", handle)
        options: dict[str, str] = {}
        values: list[str] = []
        for n in (1, 2, 3):
            vi = idx[f"opt{n}_value"]
            if vi is None:
                continue
            value = row[vi].strip()
            if not value:
                continue
            ni = idx[f"opt{n}_name"]
            name = g.row[ni].strip() if ni is not None else ""
            name = name or f"Option{n}"
            if name == "Title" and value == "Default Title":
                continue
            options[name] = value
            values.append(value)
        barcode = row[idx["barcode"]].strip().lstrip("'") if idx["barcode"] is not None else ""
        g.variants.append(
            Variant.model_construct(
                sku=sku,
                title=" / ".join(values) if values else "Default Title",
                options=options,
                price=price,
                currency=self.currency,
                compare_at_price=compare,
                gtin=barcode,
            )
        )
        if lay.markets:
            self._market_prices(g, row, line, lay)

    def _market_prices(self, g: _Group, row: list[str], line: int, lay: _Layout) -> None:
        """Keep each market's cheapest variant price (with its compare-at) for the product."""
        for key, cols in lay.markets.items():
            pi = cols.get("price")
            if pi is None or not row[pi].strip():
                continue
            label = lay.market_names[key]
            try:
                amount = parse_price(row[pi], f"price for market {label}")
                ci = cols.get("compare")
                compare = parse_price(row[ci], f"compare-at price for market {label}") if ci is not None else None
                currency = self._market_currency(key, label, g.row, cols)
            except BadValue as exc:
                self._problem(line, f"{exc}; market price left out", g.handle)
                continue
            old = g.prices.get(key)
            if old is None or amount < old.amount:  # type: ignore[operator]
                g.prices[key] = MarketPrice.model_construct(amount=amount, currency=currency, compare_at=compare)

    def _market_currency(self, key: str, label: str, first_row: list[str], cols: dict[str, int]) -> str:
        """The currency of a market column: its Currency column, the option mapping, or the country's."""
        ci = cols.get("currency")
        if ci is not None and first_row[ci].strip():
            return check_currency(first_row[ci])
        if key in self.market_currencies:
            return check_currency(self.market_currencies[key])
        if key not in self._currency_cache:
            self._currency_cache[key] = market_currency(key)
        found = self._currency_cache[key]
        if found is None:
            raise BadValue(f"no currency known for market {label!r}; add a 'Currency / {label}' column")
        return found

    def _finish(self, g: _Group, lay: _Layout) -> Product | None:
        """Build the Product from its collected rows."""
        row, idx = g.row, lay.idx

        def cell(field: str) -> str:
            i = idx[field]
            return row[i].strip() if i is not None else ""

        body = row[idx["body"]] if idx["body"] is not None else ""
        translations: dict[str, Translation] = {}
        for locale, cols in lay.translations.items():
            t_title = row[cols["title"]].strip() if "title" in cols else ""
            t_body = row[cols["body"]] if "body" in cols else ""
            t_feat = split_list(row[cols["features"]]) if "features" in cols else []
            t_steps = split_list(row[cols["steps"]]) if "steps" in cols else []
            if t_title or t_body.strip() or t_feat or t_steps:
                translations[locale] = Translation.model_construct(
                    title=t_title, description=html_to_text(t_body), features=t_feat, steps=t_steps
                )
        category = cell("type") or cell("product_category").split(">")[-1].strip()
        return Product.model_construct(
            id=g.handle,
            handle=g.handle,
            title=cell("title"),
            description=html_to_text(body),
            description_html=body.strip(),
            brand=cell("vendor"),
            category=category,
            tags=split_tags(cell("tags")),
            variants=g.variants,
            images=g.images,
            features=split_list(row[lay.features]) if lay.features is not None else [],
            steps=split_list(row[lay.steps]) if lay.steps is not None else [],
            translations=translations,
            prices=g.prices,
            updated_at=None,
            source=f"{self.name}:{g.line}",
        )


def looks_like(path: Path, head: str) -> bool:
    """True when the first line is a Shopify product CSV header."""
    first = head.lstrip("\ufeff").split("\n", 1)[0].lower()
    return ("handle" in first and "title" in first) and ("," in first) and ("variant" in first or "price" in first or "url handle" in first or "body (html)" in first)



