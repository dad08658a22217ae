"""Any table (CSV, JSON Lines, Parquet) read with pandas, mapped to `Product` fields by a small YAML file.

The mapping names the column for each field; fields left out default to a
column of the same name when there is one. Rows sharing ``group_by`` (default:
the handle column) form one product, each row a variant::

    handle: slug
    title: name
    description: body_html        # HTML is reduced to text
    brand: maker
    category: category
    tags: keywords                # "a, b" or a list
    currency: USD                 # the default when no currency column is mapped
    variant:
      sku: sku
      price: price                # 12.50, or "12.50 USD"
      currency: currency
      compare_at_price: was_price
      gtin: ean
      options: {Color: colour, Size: size}
    images: [image, image2]       # a cell may hold several URLs separated by "|" or ","
    image_alt: image_alt
    features: features            # newline- or "|"-separated, or a list
    steps: steps
    translations:
      de: {title: name_de, description: description_de}
    prices:
      germany: {amount: price_eur, currency: EUR, compare_at: was_eur}
    updated_at: modified          # used by --since

Pass it as ``mapping=`` (a path or a dict), or put ``<file stem>.mapping.yaml`` beside the table.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from pydantic import ValidationError

from productreel.errors import InputError
from productreel.models import Product

from .base import (
    BadValue,
    CatalogProblem,
    bad_bytes_at,
    check_currency,
    html_to_text,
    parse_money,
    parse_price,
    parse_since,
    split_list,
)

SIMPLE = ("id", "handle", "title", "description", "brand", "category", "tags", "image_alt", "features", "steps", "updated_at")
VARIANT = ("sku", "title", "price", "currency", "compare_at_price", "gtin")


def load_mapping(mapping: str | Path | dict | None, data_path: Path) -> dict[str, Any]:
    """The column mapping: the given dict or YAML file, else <stem>.mapping.yaml beside the data, else {}."""
    import yaml

    if isinstance(mapping, dict):
        return mapping
    path = Path(mapping) if mapping else data_path.with_name(f"{data_path.stem}.mapping.yaml")
    if not path.is_file():
        if mapping:
            raise InputError(f"column mapping not found: {path}")
        return {}
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"column mapping {path} cannot be read: {exc}") from exc
    if not isinstance(loaded, dict):
        raise InputError(f"column mapping {path} must be a mapping of field: column")
    return loaded


def _text(value: Any) -> str:
    """A cell as text: missing values (None, NaN) are empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (list, tuple)):
        return "\n".join(_text(v) for v in value)
    if hasattr(value, "tolist"):  # numpy arrays from Parquet list columns
        return _text(value.tolist())
    return str(value)


def _image_cells(value: Any) -> list[str]:
    """Image sources in a cell: a list, or text separated by '|', newlines or commas."""
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        return _items(value)
    text = _text(value).strip()
    for sep in ("|", "\n", ","):
        if sep in text:
            return [part.strip() for part in text.split(sep) if part.strip()]
    return [text] if text else []


def _items(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        seq = value.tolist() if hasattr(value, "tolist") else value
        return [_text(v).strip() for v in seq if _text(v).strip()]
    return split_list(_text(value))


class TableFile:
    """A CSV, JSON Lines or Parquet file with a YAML column mapping."""

    kind = "table"

    def __init__(
        self,
        source: str | Path,
        *,
        since: datetime | str | None = None,
        mapping: str | Path | dict | None = None,
        currency: str | None = None,
        **_options: object,
    ) -> None:
        self.path = Path(source)
        self.name = self.path.name
        if not self.path.is_file():
            raise InputError(f"catalog file not found: {self.path}")
        self.map = load_mapping(mapping, self.path)
        self.since = parse_since(since)
        try:
            self.currency = check_currency(currency or str(self.map.get("currency") or "USD"))
        except BadValue as exc:
            raise InputError(f"currency: {exc}") from None
        self.problems: list[CatalogProblem] = []

    def _problem(self, where: int | str, reason: str, product: str | None = None) -> None:
        self.problems.append(CatalogProblem(f"{self.name}:{where}", reason, product))

    # --- reading ------------------------------------------------------------------------------

    def _records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line or row number, record) for every row pandas could read."""
        import pandas as pd

        suffix = self.path.suffix.lower()
        if self.path.stat().st_size == 0:
            self._problem(1, "file is empty")
            return
        if suffix in (".jsonl", ".ndjson", ".json"):
            yield from self._jsonl()
            return
        try:
            if suffix in (".parquet", ".pq"):
                frame = pd.read_parquet(self.path)
                first = 1  # Parquet rows are numbered from 1
            else:
                frame = pd.read_csv(self.path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                    encoding_errors="surrogateescape", on_bad_lines="warn")
                first = 2  # the header is line 1
        except Exception as exc:  # pandas and pyarrow raise many kinds for unreadable files
            if "No columns to parse" in str(exc):
                self._problem(1, "file is empty")
                return
            raise InputError(f"table {self.path} cannot be read: {type(exc).__name__}: {exc}") from exc
        for n, record in enumerate(frame.to_dict("records")):
            yield n + first, record

    def _jsonl(self) -> Iterator[tuple[int, dict[str, Any]]]:
        import pandas as pd

        rows: list[tuple[int, dict[str, Any]]] = []
        with open(self.path, "rb") as fh:
            for line_no, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw.decode("utf-8-sig" if line_no == 1 else "utf-8"))
                except UnicodeDecodeError:
                    self._problem(line_no, "line is not valid UTF-8; line skipped")
                    continue
                except ValueError as exc:
                    self._problem(line_no, f"line is not valid JSON ({exc}); line skipped")
                    continue
                if not isinstance(record, dict):
                    self._problem(line_no, "line is not a JSON object; line skipped")
                    continue
                rows.append((line_no, record))
        if not rows:
            return
        # pandas normalises the records into one table (missing keys become NaN, read as empty).
        frame = pd.DataFrame.from_records([r for _, r in rows])
        for (line_no, _), record in zip(rows, frame.to_dict("records")):
            yield line_no, record

    # --- mapping ----------------------------------------------------------------------------------

    def _col(self, field: str, columns: set[str], section: dict[str, Any] | None = None) -> str | None:
        source = (section if section is not None else self.map).get(field)
        if isinstance(source, str):
            return source
        return field if field in columns and source is None else None

    def products(self) -> Iterator[Product]:
        """Yield one Product per group of rows; bad rows become problems."""
        records = list(self._records())
        if not records:
            return
        columns = set(records[0][1])
        vmap = self.map.get("variant") or {}
        cols = {f: self._col(f, columns) for f in SIMPLE}
        vcols = {f: self._col(f, columns, vmap) for f in VARIANT}
        if vcols["price"] is None and "variant" not in self.map and "price" in columns:
            vcols["price"] = "price"
        option_cols: dict[str, str] = dict(vmap.get("options") or {})
        image_cols = self.map.get("images")
        if image_cols is None:
            image_cols = [c for c in ("image", "images", "image_link", "image_url") if c in columns]
        elif isinstance(image_cols, str):
            image_cols = [image_cols]
        group_col = self.map.get("group_by") or cols["handle"] or cols["id"]
        if not cols["title"] or not group_col:
            missing = [n for n, c in (("title", cols["title"]), ("handle", group_col)) if not c]
            self._problem(1, f"no column for {', '.join(missing)}: add it to the mapping (see catalog_adapters.table)")
            return
        for needed in [c for c in [group_col, cols["title"]] if c not in columns]:
            self._problem(1, f"mapped column {needed!r} is not in the table")
            return
        groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for line, record in records:
            if any(isinstance(v, str) and bad_bytes_at(v) is not None for v in record.values()):
                self._problem(line, "row is not valid UTF-8; row skipped")
                continue
            key = _text(record.get(group_col)).strip()
            if not key:
                self._problem(line, f"row has no {group_col!r}; row skipped")
                continue
            groups.setdefault(key, []).append((line, record))
        seen_skus: dict[str, int] = {}
        for key, rows in groups.items():
            product = self._product(key, rows, cols, vcols, option_cols, image_cols, seen_skus)
            if product is not None:
                yield product

    def _product(self, key, rows, cols, vcols, option_cols, image_cols, seen_skus) -> Product | None:
        line, first = rows[0]

        def get(record: dict[str, Any], col: str | None) -> str:
            return _text(record.get(col)).strip() if col else ""

        title = get(first, cols["title"])
        if not title:
            self._problem(line, "first row of the product has no title; product skipped", key)
            return None
        updated = None
        if cols["updated_at"] and get(first, cols["updated_at"]):
            try:
                updated = datetime.fromisoformat(get(first, cols["updated_at"]).replace("Z", "+00:00"))
                if updated.tzinfo is None:
                    updated = updated.replace(tzinfo=timezone.utc)
            except ValueError:
                self._problem(line, f"updated_at {get(first, cols['updated_at'])!r} is not an ISO date", key)
        if self.since is not None and updated is not None and updated < self.since:
            return None
        variants, images, srcs = [], [], set()
        for row_line, record in rows:
            for col in image_cols:
                for src in _image_cells(record.get(col)):
                    if src not in srcs:
                        srcs.add(src)
                        images.append({"src": src, "alt": get(record, cols["image_alt"])})
            try:
                variant = self._variant(record, get, vcols, option_cols)
            except BadValue as exc:
                self._problem(row_line, f"{exc}; variant skipped", key)
                continue
            if variant is None:
                continue
            sku = variant["sku"]
            if sku and sku in seen_skus:
                self._problem(row_line, f"duplicate SKU {sku!r} (first on line {seen_skus[sku]}); variant skipped", key)
                continue
            if sku:
                seen_skus[sku] = row_line
            variants.append(variant)
        translations = {}
        for locale, tmap in (self.map.get("translations") or {}).items():
            t_title = get(first, tmap.get("title"))
            t_desc = html_to_text(get(first, tmap.get("description")))
            t_feat = _items(first.get(tmap["features"])) if tmap.get("features") else []
            t_steps = _items(first.get(tmap["steps"])) if tmap.get("steps") else []
            if t_title or t_desc or t_feat or t_steps:
                translations[str(locale)] = {"title": t_title, "description": t_desc, "features": t_feat, "steps": t_steps}
        prices = {}
        for market, pmap in (self.map.get("prices") or {}).items():
            best = None
            for row_line, record in rows:
                try:
                    amount = parse_price(get(record, pmap.get("amount")), f"{market} price")
                    if amount is None:
                        continue
                    currency = check_currency(get(record, pmap.get("currency_column")) or str(pmap.get("currency") or self.currency))
                    compare = parse_price(get(record, pmap.get("compare_at")), f"{market} compare-at price")
                except BadValue as exc:
                    self._problem(row_line, f"{exc}; market price left out", key)
                    continue
                if best is None or amount < best["amount"]:
                    best = {"amount": amount, "currency": currency, "compare_at": compare}
            if best is not None:
                prices[str(market).lower()] = best
        html = get(first, cols["description"])
        try:
            return Product.model_validate(
                {
                    "id": get(first, cols["id"]) or key,
                    "handle": get(first, cols["handle"]) or key,
                    "title": title,
                    "description": html_to_text(html),
                    "description_html": html,
                    "brand": get(first, cols["brand"]),
                    "category": get(first, cols["category"]),
                    "tags": [t.strip() for t in get(first, cols["tags"]).replace("\n", ",").split(",") if t.strip()],
                    "variants": variants,
                    "images": images,
                    "features": _items(first.get(cols["features"])) if cols["features"] else [],
                    "steps": _items(first.get(cols["steps"])) if cols["steps"] else [],
                    "translations": translations,
                    "prices": prices,
                    "updated_at": updated,
                    "source": f"{self.name}:{line}",
                }
            )
        except ValidationError as exc:
            self._problem(line, f"{exc.errors()[0]['msg']}; product skipped", key)
            return None

    def _variant(self, record, get, vcols, option_cols) -> dict[str, Any] | None:
        price_text = get(record, vcols["price"])
        currency = self.currency
        price: Decimal | None
        try:
            price = parse_price(price_text)
        except BadValue as not_number:
            # "12.50 USD" carries its currency; anything else that is not a number stays a bad price.
            try:
                money = parse_money(price_text)
            except BadValue as exc:
                if "currency" in str(exc) and "amount" not in str(exc):
                    raise
                raise not_number from None
            price, currency = money if money else (None, currency)
        if vcols["currency"] and get(record, vcols["currency"]):
            currency = check_currency(get(record, vcols["currency"]))
        options = {name: get(record, col) for name, col in option_cols.items() if get(record, col)}
        sku = get(record, vcols["sku"])
        if price is None and not sku and not options:
            return None
        return {
            "sku": sku,
            "title": get(record, vcols["title"]) or " / ".join(options.values()) or "Default Title",
            "options": options,
            "price": price,
            "currency": currency,
            "compare_at_price": parse_price(get(record, vcols["compare_at_price"]), "compare-at price"),
            "gtin": get(record, vcols["gtin"]),
        }
