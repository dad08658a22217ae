"""Adobe Commerce (Magento 2) product export CSV (System > Export > Products) read into `Product`s.

Each row is one product in one store view; ``store_view_code`` is empty on the default
row, and a store-view row carries only the fields that differ there. What becomes what:

- ``configurable`` products become one product whose variants are the ``simple`` (or
  virtual) products listed in ``configurable_variations``
  (``sku=A,size=S,color=Black|sku=B,size=M,color=Black``); the attribute values become the
  variant options, named by ``configurable_variation_labels`` (``size=Size,color=Color``).
  A child is read only as its parent's variant.
- ``special_price`` is the price while today is inside ``special_price_from_date`` /
  ``special_price_to_date``, with ``price`` as the compare-at price.
- ``base_image`` then ``additional_images`` (a comma list) are the images, with
  ``base_image_label`` / ``additional_image_labels`` as alt text; a child's base image follows.
  Paths are relative to Magento's media folder (``/m/h/mh01-black_main.jpg``): ``media_url=``
  (e.g. ``https://shop.example/media/catalog/product``) is put in front; without it they are
  read relative to the CSV file's folder. Full http(s) URLs stay as they are.
- store-view rows: ``name``, ``description`` and ``short_description`` become
  ``Product.translations[<locale>]``; the locale is the store view code (``de``, ``fr_fr`` ->
  ``fr-fr``) unless ``store_views="german=de,french=fr"`` maps it.
- ``url_key`` is the handle, ``sku`` the id, the last step of the first ``categories`` path the
  category, ``additional_attributes`` ``manufacturer``/``brand`` the brand and ``gtin``/``ean``/``upc`` the GTIN.
- disabled products (``product_online`` 0), products ``Not Visible Individually`` that are no
  configurable's child, and ``grouped`` / ``bundle`` products (no single price) are left out,
  each with a one-line reason.

The store currency is not in the export: ``currency=`` (default USD).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

from pydantic import ValidationError

from productreel.models import Product

from .base import BadValue, html_to_text, parse_price
from .csvfile import ExportCsv, read_rows

SIGNATURE = frozenset({"sku", "product_type", "name"})
SIGNATURE_ANY = frozenset({"store_view_code", "attribute_set_code", "configurable_variations"})
_SELLABLE = ("simple", "configurable", "virtual", "downloadable")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})\b")


def recognises(names: list[str] | set[str]) -> bool:
    """True for a header (lower-cased names) that Adobe Commerce's product export wrote."""
    have = set(names)
    return SIGNATURE <= have and bool(SIGNATURE_ANY & have)


def _pairs(cell: str, sep: str = ",") -> dict[str, str]:
    """``key=value,key=value`` as a dict (keys lower-cased, values trimmed)."""
    out: dict[str, str] = {}
    for part in cell.split(sep):
        key, eq, value = part.partition("=")
        if eq and key.strip():
            out[key.strip().lower()] = value.strip()
    return out


def _variations(cell: str) -> list[tuple[str, dict[str, str]]]:
    """``configurable_variations`` as (child sku, {attribute code: value}) in order."""
    out = []
    for item in cell.split("|"):
        attrs = _pairs(item)
        sku = attrs.pop("sku", "")
        if sku:
            out.append((sku, attrs))
    return out


def _day(cell: str, what: str) -> date | None:
    """A date from the export: ISO (2025-01-31) or the admin locale's US form (1/31/25, 12:00 AM)."""
    cell = cell.strip()
    if not cell:
        return None
    m = _US_DATE.match(cell)
    try:
        if m:
            month, day, year = (int(g) for g in m.groups())
            return date(year + 2000 if year < 100 else year, month, day)
        return datetime.fromisoformat(cell[:10]).date()
    except ValueError:
        raise BadValue(f"{what} {cell!r} is not a date such as 2025-01-31") from None


class AdobeCommerceCsv(ExportCsv):
    """An Adobe Commerce (Magento 2) product export."""

    kind = "adobe-commerce-csv"
    recognises = staticmethod(recognises)

    def __init__(
        self,
        source: str | Path,
        *,
        since: datetime | None = None,
        currency: str = "USD",
        media_url: str = "",
        store_views: dict[str, str] | str | None = None,
        today: date | str | None = None,
        **_options: object,
    ) -> None:
        # updated_at is in the export, but a partial read would drop children: ExportCsv reads it all
        super().__init__(source, since=since, currency=currency, today=today)
        self.media_url = str(media_url or "").rstrip("/")
        if isinstance(store_views, str):
            store_views = _pairs(store_views)
        self.store_views = {k.lower(): v for k, v in (store_views or {}).items()}

    def products(self) -> Iterator[Product]:
        """Yield every product for sale; children fold into their configurable; the rest are problems."""
        header, rows = read_rows(self.path, self._problem)
        if header is None:
            return
        missing = [n for n in ("sku", "product_type", "name") if n not in header]
        if missing:
            self._problem(1, f"not an Adobe Commerce product export: missing column(s) {', '.join(missing)}")
            return
        self.h = header
        defaults: dict[str, tuple[int, list[str]]] = {}
        views: dict[str, dict[str, tuple[int, list[str]]]] = {}
        for line, cells in rows:
            sku = self._get(cells, "sku")
            if not sku:
                self._problem(line, "row has no sku; row skipped")
                continue
            view = self._get(cells, "store_view_code")
            if view:
                views.setdefault(sku, {}).setdefault(view, (line, cells))
            elif sku in defaults:
                self._problem(line, f"sku appears twice (first on line {defaults[sku][0]}); row skipped", sku)
            else:
                defaults[sku] = (line, cells)
        for sku in views.keys() - defaults.keys():
            first = min(line for line, _ in views[sku].values())
            self._problem(first, "store-view row of a sku with no default row; rows skipped", sku)
        children: set[str] = set()
        for _line, cells in defaults.values():
            if self._get(cells, "product_type").lower() == "configurable":
                children.update(sku for sku, _ in _variations(self._get(cells, "configurable_variations")))
        for sku, (line, cells) in defaults.items():
            if sku in children and self._get(cells, "product_type").lower() != "configurable":
                continue  # read as its configurable's variant
            product = self._product(sku, line, cells, defaults, views.get(sku, {}))
            if product is not None:
                yield product

    def _get(self, cells: list[str], name: str) -> str:
        i = self.h.col(name)
        return cells[i].strip() if i is not None else ""

    def _left_out(self, cells: list[str]) -> str | None:
        kind = self._get(cells, "product_type").lower()
        if kind in ("grouped", "bundle"):
            return f"{kind} product (no single price of its own); left out"
        if kind not in _SELLABLE:
            return f"unknown product_type {kind or '(empty)'!r}; left out"
        if self._get(cells, "product_online") == "0":
            return "disabled (product_online 0); left out"
        if self._get(cells, "visibility").lower() == "not visible individually":
            return "not visible individually and no configurable product's variation; left out"
        return None

    def _product(self, sku: str, line: int, cells: list[str], defaults: dict, views: dict) -> Product | None:
        reason = self._left_out(cells)
        if reason:
            self._problem(line, reason, sku)
            return None
        try:
            data = self._build(sku, line, cells, defaults, views)
            return None if data is None else Product.model_validate(data)
        except BadValue as exc:
            self._problem(line, f"{exc}; product skipped", sku)
        except ValidationError as exc:
            self._problem(line, f"{exc.errors()[0]['msg']}; product skipped", sku)
        return None

    def _prices(self, cells: list[str]) -> tuple[Any, Any]:
        regular = parse_price(self._get(cells, "price"), "price")
        special = parse_price(self._get(cells, "special_price"), "special_price")
        if special is not None:
            start = _day(self._get(cells, "special_price_from_date"), "special_price_from_date")
            end = _day(self._get(cells, "special_price_to_date"), "special_price_to_date")
            if (start and self.today < start) or (end and self.today > end):
                special = None
        if special is None:
            return regular, None
        return special, regular if regular is not None and regular > special else None

    def _src(self, path: str) -> str:
        if path.lower().startswith(("http://", "https://")):
            return path
        if self.media_url:
            return f"{self.media_url}/{path.lstrip('/')}"
        return path.lstrip("/")

    def _images(self, cells: list[str]) -> list[dict[str, str]]:
        out = []
        base = self._get(cells, "base_image")
        if base and base != "no_selection":
            out.append({"src": self._src(base), "alt": self._get(cells, "base_image_label")})
        extra = [p.strip() for p in self._get(cells, "additional_images").split(",")]
        labels = [p.strip() for p in self._get(cells, "additional_image_labels").split(",")]
        for i, path in enumerate(extra):
            if path and path != "no_selection" and all(o["src"] != self._src(path) for o in out):
                out.append({"src": self._src(path), "alt": labels[i] if i < len(labels) else ""})
        return out

    def _build(self, sku: str, line: int, cells: list[str], defaults: dict, views: dict) -> dict[str, Any] | None:
        name = self._get(cells, "name")
        if not name:
            raise BadValue("row has no name")
        attrs = _pairs(self._get(cells, "additional_attributes"))
        images = self._images(cells)
        seen = {i["src"] for i in images}
        if self._get(cells, "product_type").lower() == "configurable":
            labels = _pairs(self._get(cells, "configurable_variation_labels"))
            variants = []
            for child_sku, options in _variations(self._get(cells, "configurable_variations")):
                child = defaults.get(child_sku)
                if child is None:
                    self._problem(line, f"variation {child_sku!r} is not in the file; variant skipped", sku)
                    continue
                child_line, child_cells = child
                if self._get(child_cells, "product_online") == "0":
                    continue  # a disabled child is not for sale
                try:
                    price, compare = self._prices(child_cells)
                except BadValue as exc:
                    self._problem(child_line, f"{exc}; variant skipped", sku)
                    continue
                named = {labels.get(code, code.replace("_", " ").title()): value for code, value in options.items()}
                variants.append({
                    "sku": child_sku, "title": " / ".join(named.values()) or self._get(child_cells, "name"),
                    "options": named, "price": price, "currency": self.currency, "compare_at_price": compare,
                    "gtin": _gtin(_pairs(self._get(child_cells, "additional_attributes"))),
                })
                for image in self._images(child_cells)[:1]:
                    if image["src"] not in seen:
                        seen.add(image["src"])
                        images.append(image)
            if not variants:
                self._problem(line, "configurable product has no variations for sale in the file; left out", sku)
                return None
        else:
            price, compare = self._prices(cells)
            variants = [{"sku": sku, "title": "Default Title", "options": {}, "price": price,
                         "currency": self.currency, "compare_at_price": compare, "gtin": _gtin(attrs)}]
        html = self._get(cells, "description") or self._get(cells, "short_description")
        translations = {}
        for code, (_vline, vcells) in sorted(views.items()):
            title = self._get(vcells, "name")
            body = self._get(vcells, "description") or self._get(vcells, "short_description")
            if title or body:
                locale = self.store_views.get(code.lower(), code.lower().replace("_", "-"))
                translations[locale] = {"title": title, "description": html_to_text(body)}
        categories = [c for c in self._get(cells, "categories").split(",") if c.strip()]
        return {
            "id": sku,
            "handle": self._get(cells, "url_key") or sku,
            "title": name,
            "description": html_to_text(html),
            "description_html": html,
            "brand": attrs.get("manufacturer") or attrs.get("brand") or "",
            "category": categories[0].split("/")[-1].strip() if categories else "",
            "variants": variants,
            "images": images,
            "translations": translations,
            "source": f"{self.name}:{line}",
        }


def _gtin(attrs: dict[str, str]) -> str:
    return attrs.get("gtin") or attrs.get("ean") or attrs.get("upc") or ""
