"""WooCommerce's own product CSV export (Products > Export) read into `Product`s.

The exporter writes one row per product and one per variation, with columns such as
``ID, Type, SKU, Name, Published, Visibility in catalog, Short description, Description,
Date sale price starts/ends, Sale price, Regular price, Categories, Tags, Images, Parent,
External URL, Button text, Position, Attribute N name, Attribute N value(s)``. What becomes what:

- ``variation`` rows fold into their ``variable`` parent, which ``Parent`` names by SKU or as
  ``id:NN``; the file may list a variation before its parent. Each variation is a variant whose
  options are its attribute values, in ``Position`` order.
- the sale price is the price (while today is inside ``Date sale price starts/ends`` when set),
  and the regular price becomes the compare-at price.
- ``Images`` (a comma list) keeps its order; a variation's own image follows the parent's.
- ``grouped`` products (no price of their own), products hidden from the catalog
  (``Visibility in catalog`` = hidden) and unpublished ones (``Published`` -1 draft, 0 private)
  are left out, each with a one-line reason; a disabled variation (``Published`` 0) is not a variant.
- ``external`` products keep ``External URL`` as ``Product.link`` and ``Button text`` as ``Product.cta``.
- ``downloadable`` and ``virtual`` products (``Type`` "simple, downloadable, virtual") are read as simple ones.
- ``Brands`` (WooCommerce 9.6+) gives the brand, ``GTIN, UPC, EAN, or ISBN`` the GTIN,
  ``Meta: features`` / ``Meta: howto_steps`` (any key ending so) the features and steps.

The exporter escapes commas inside list items as ``\\,``, writes newlines in descriptions as a
literal ``\\n`` and puts ``'`` before a cell that starts with ``= + - @``; all three are undone.
The store currency is not in the export: pass ``currency=`` (default USD).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

from pydantic import ValidationError

from productreel.models import Product

from .base import BadValue, html_to_text, parse_price, split_list
from .csvfile import ExportCsv, Header, read_rows

# Columns whose presence says "this is a WooCommerce product export" (lower-case).
SIGNATURE = frozenset({"id", "type", "sku", "name", "published"})
SIGNATURE_ANY = frozenset({"visibility in catalog", "regular price", "parent"})

_BASE_TYPES = ("variable", "variation", "grouped", "external", "simple")
_LIST_SPLIT = re.compile(r"(?<!\\),")
_ATTR = re.compile(r"^attribute (\d+) (name|value\(s\))$", re.I)
_META_FEATURES = re.compile(r"^meta:\s*\S*features$", re.I)
_META_STEPS = re.compile(r"^meta:\s*\S*(how_?to_?steps|steps)$", re.I)
_SLUG = re.compile(r"[^a-z0-9]+")
_PUBLISHED = {"-1": "draft", "0": "private", "1": "publish"}


def recognises(names: list[str] | set[str]) -> bool:
    """True for a header (lower-cased names) that WooCommerce's product exporter wrote."""
    have = set(names)
    return SIGNATURE <= have and bool(SIGNATURE_ANY & have)


def unescape(cell: str) -> str:
    """A cell as the seller typed it: the exporter's formula guard (a leading ') removed, trimmed."""
    cell = cell.strip()
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@":
        return cell[1:]
    return cell


def split_items(cell: str) -> list[str]:
    """An exporter list cell ("a, b\\, c") as its items, escaped commas restored."""
    cell = unescape(cell)
    if not cell:
        return []
    return [item.strip().replace("\\,", ",") for item in _LIST_SPLIT.split(cell) if item.strip()]


def _text(cell: str) -> str:
    """A description cell: the exporter's literal \\n back to newlines."""
    return unescape(cell).replace("\\\\n", "\0").replace("\\n", "\n").replace("\0", "\\n")


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


def _day(cell: str, what: str) -> date | None:
    cell = unescape(cell)
    if not cell:
        return None
    try:
        return datetime.fromisoformat(cell[:10]).date()
    except ValueError:
        raise BadValue(f"{what} {cell!r} is not a date such as 2025-01-31") from None


class _Row:
    """One exporter row with the fields this reader uses, parsed once."""

    __slots__ = ("line", "cells", "id", "sku", "types", "base", "name", "parent", "position")

    def __init__(self, line: int, cells: list[str], h: _Columns) -> None:
        self.line = line
        self.cells = cells
        self.id = unescape(h.get(cells, "id"))
        self.sku = unescape(h.get(cells, "sku"))
        self.types = {t.lower() for t in split_items(h.get(cells, "type"))}
        self.base = next((t for t in _BASE_TYPES if t in self.types), "")
        self.name = unescape(h.get(cells, "name"))
        self.parent = unescape(h.get(cells, "parent"))
        try:
            self.position = int(unescape(h.get(cells, "position")) or 0)
        except ValueError:
            self.position = 0

    @property
    def label(self) -> str:
        """How a problem line names this row's product."""
        return self.sku or (f"id:{self.id}" if self.id else self.name or "?")


class _Columns:
    """The export's columns, resolved once."""

    FIELDS = {
        "id": ("id",), "type": ("type",), "sku": ("sku",), "name": ("name",), "published": ("published",),
        "visibility": ("visibility in catalog",), "short": ("short description",), "description": ("description",),
        "sale_from": ("date sale price starts",), "sale_to": ("date sale price ends",),
        "sale": ("sale price",), "regular": ("regular price",), "categories": ("categories",), "tags": ("tags",),
        "images": ("images",), "parent": ("parent",), "url": ("external url",), "button": ("button text",),
        "position": ("position",), "brands": ("brands", "brand"),
        "gtin": ("gtin, upc, ean, or isbn", "gtin", "ean", "upc"),
    }

    def __init__(self, header: Header) -> None:
        self.width = len(header.names)
        self.idx = {f: header.col(*names) for f, names in self.FIELDS.items()}
        attrs: dict[int, dict[str, int]] = {}
        self.features = self.steps = None
        for i, name in enumerate(header.names):
            m = _ATTR.match(name)
            if m:
                attrs.setdefault(int(m.group(1)), {})["name" if m.group(2).lower() == "name" else "value"] = i
            elif _META_FEATURES.match(name) and self.features is None:
                self.features = i
            elif _META_STEPS.match(name) and self.steps is None:
                self.steps = i
        self.attributes = [(c["name"], c["value"]) for _n, c in sorted(attrs.items()) if "name" in c and "value" in c]

    def get(self, cells: list[str], field: str) -> str:
        i = self.idx[field]
        return cells[i] if i is not None else ""


class WooCommerceCsv(ExportCsv):
    """A WooCommerce product CSV export."""

    kind = "woocommerce-csv"
    recognises = staticmethod(recognises)

    def __init__(
        self,
        source: str | Path,
        *,
        since: datetime | None = None,
        currency: str = "USD",
        today: date | str | None = None,
        **_options: object,
    ) -> None:
        super().__init__(source, since=since, currency=currency, today=today)

    def products(self) -> Iterator[Product]:
        """Yield every product that is for sale and readable; the rest are problems, one line each."""
        header, rows = read_rows(self.path, self._problem)
        if header is None:
            return
        missing = [n for n in ("ID", "Type", "Name") if n not in header]
        if missing:
            self._problem(1, f"not a WooCommerce product export: missing column(s) {', '.join(missing)}")
            return
        cols = _Columns(header)
        parents: list[_Row] = []
        variations: dict[str, list[_Row]] = {}  # parent reference -> its variation rows, in file order
        for line, cells in rows:
            row = _Row(line, cells, cols)
            if not row.base:
                kind = unescape(cols.get(cells, "type")) or "(empty)"
                self._problem(line, f"unknown product type {kind!r}; row skipped", row.label)
            elif row.base == "variation":
                if not row.parent:
                    self._problem(line, "variation has no Parent; row skipped", row.label)
                else:
                    variations.setdefault(row.parent, []).append(row)
            else:
                parents.append(row)
        by_ref: dict[str, _Row] = {}
        for row in parents:
            if row.id:
                by_ref.setdefault(f"id:{row.id}", row)
            if row.sku:
                by_ref.setdefault(row.sku, row)
        claimed: dict[int, list[_Row]] = {}
        for ref, kids in variations.items():
            parent = by_ref.get(ref) or (by_ref.get(f"id:{ref}") if ref.isdigit() else None)
            if parent is None or parent.base != "variable":
                what = "is not in the file" if parent is None else f"is a {parent.base} product, not a variable one"
                for kid in kids:
                    self._problem(kid.line, f"variation's parent {ref!r} {what}; row skipped", kid.label)
                continue
            claimed.setdefault(id(parent), []).extend(kids)
        for row in parents:
            product = self._product(row, claimed.get(id(row), []), cols)
            if product is not None:
                yield product

    def _left_out(self, row: _Row, cols: _Columns) -> str | None:
        """Why a product row makes no product, or None when it does."""
        if row.base == "grouped":
            return "grouped product (no price of its own; its products are read on their own rows); left out"
        published = unescape(cols.get(row.cells, "published"))
        if published and published != "1":
            return f"not published ({_PUBLISHED.get(published, published)}); left out"
        if unescape(cols.get(row.cells, "visibility")).lower() == "hidden":
            return "hidden from the catalog (Visibility in catalog: hidden); left out"
        return None

    def _product(self, row: _Row, kids: list[_Row], cols: _Columns) -> Product | None:
        reason = self._left_out(row, cols)
        if reason:
            self._problem(row.line, reason, row.label)
            return None
        try:
            if not row.name:
                raise BadValue("row has no Name")
            data = self._build(row, kids, cols)
            if data is None:
                return None
            return Product.model_validate(data)
        except BadValue as exc:
            self._problem(row.line, f"{exc}; product skipped", row.label)
        except ValidationError as exc:
            self._problem(row.line, f"{exc.errors()[0]['msg']}; product skipped", row.label)
        return None

    def _prices(self, row: _Row, cols: _Columns) -> tuple[Any, Any]:
        """(price, compare-at price): the sale price while the sale runs, with the regular price as compare-at."""
        cells = row.cells
        regular = parse_price(unescape(cols.get(cells, "regular")), "regular price")
        sale = parse_price(unescape(cols.get(cells, "sale")), "sale price")
        if sale is not None:
            start = _day(cols.get(cells, "sale_from"), "sale start date")
            end = _day(cols.get(cells, "sale_to"), "sale end date")
            if (start and self.today < start) or (end and self.today > end):
                sale = None  # a sale that has not started or is over
        if sale is None:
            return regular, None
        return sale, regular if regular is not None and regular > sale else None

    def _options(self, row: _Row, cols: _Columns, parent: _Row | None = None) -> dict[str, str]:
        """A variation's attribute values by attribute name (an empty value means 'any', so no option)."""
        options: dict[str, str] = {}
        for ni, vi in cols.attributes:
            name = unescape(row.cells[ni]) or (unescape(parent.cells[ni]) if parent else "")
            values = split_items(row.cells[vi])
            if name and len(values) == 1:
                options[name] = values[0]
        return options

    def _build(self, row: _Row, kids: list[_Row], cols: _Columns) -> dict[str, Any] | None:
        cells = row.cells
        images = [{"src": src, "alt": ""} for src in split_items(cols.get(cells, "images"))]
        seen = {i["src"] for i in images}
        gtin = unescape(cols.get(cells, "gtin"))
        if row.base == "variable":
            variants = []
            for kid in sorted(kids, key=lambda k: k.position):  # stable: file order among equal positions
                if unescape(cols.get(kid.cells, "published")) == "0":
                    continue  # a disabled variation is not for sale
                try:
                    price, compare = self._prices(kid, cols)
                except BadValue as exc:
                    self._problem(kid.line, f"{exc}; variation skipped", row.label)
                    continue
                options = self._options(kid, cols, row)
                variants.append({
                    "sku": kid.sku, "title": " / ".join(options.values()) or kid.name or row.name,
                    "options": options, "price": price, "currency": self.currency, "compare_at_price": compare,
                    "gtin": unescape(cols.get(kid.cells, "gtin")),
                })
                for src in split_items(cols.get(kid.cells, "images")):
                    if src not in seen:
                        seen.add(src)
                        images.append({"src": src, "alt": ""})
            if not variants:
                self._problem(row.line, "variable product has no variations for sale in the file; left out", row.label)
                return None
        else:
            price, compare = self._prices(row, cols)
            variants = [{"sku": row.sku, "title": "Default Title", "options": {}, "price": price,
                         "currency": self.currency, "compare_at_price": compare, "gtin": gtin}]
        html = _text(cols.get(cells, "description")) or _text(cols.get(cells, "short"))
        categories = split_items(cols.get(cells, "categories"))
        brands = split_items(cols.get(cells, "brands"))
        external = row.base == "external"
        return {
            "id": row.id or row.sku or _slug(row.name),
            "handle": row.sku or "-".join(p for p in (_slug(row.name) or "product", row.id) if p),
            "title": row.name,
            "description": html_to_text(html),
            "description_html": html,
            "brand": brands[0] if brands else "",
            "category": categories[0].split(">")[-1].strip() if categories else "",
            "tags": split_items(cols.get(cells, "tags")),
            "variants": variants,
            "images": images,
            "features": split_list(_text(cells[cols.features])) if cols.features is not None else [],
            "steps": split_list(_text(cells[cols.steps])) if cols.steps is not None else [],
            "link": unescape(cols.get(cells, "url")) if external else "",
            "cta": unescape(cols.get(cells, "button")) if external else "",
            "source": f"{self.name}:{row.line}",
        }
