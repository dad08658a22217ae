"""Google Merchant Center product feeds (TSV, RSS 2.0 and Atom XML with the `g:` namespace) read into `Product`s.

Each feed item is one variant; items sharing an ``item_group_id`` form one
product (id = the group id), the others are products of their own. ``price``
is "15.00 USD"; a ``sale_price`` becomes the variant price with ``price`` as
its compare-at price. ``color``, ``size``, ``material``, ``pattern``,
``age_group`` and ``gender`` become the variant's options. Pass ``market=`` to
also record the feed's prices as that market's (a feed targets one country).
"""

from __future__ import annotations

import csv
import io
import re
import sys
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

from pydantic import ValidationError

from productreel.errors import InputError
from productreel.models import Product

from .base import BAD_BYTES, DECODE_ERRORS, BadValue, CatalogProblem, bad_bytes_at, html_to_text, parse_money

G_NS = "http://base.google.com/ns/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
OPTION_ATTRS = [("color", "Color"), ("size", "Size"), ("material", "Material"), ("pattern", "Pattern"),
                ("age_group", "Age group"), ("gender", "Gender")]
MAX_ADDITIONAL_IMAGES = 10


def _local(tag: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag."""
    if tag.startswith("{"):
        ns, name = tag[1:].split("}", 1)
        return ns, name
    return "", tag


class MerchantCenterFeed:
    """A Merchant Center feed file or URL: TSV (quoted fields) or XML (RSS 2.0 / Atom)."""

    kind = "merchant-center"

    def __init__(
        self,
        source: str | Path,
        *,
        since: datetime | None = None,
        market: str | None = None,
        sleep: Callable[[float], None] | None = None,
        timeout: float = 30.0,
        **_options: object,
    ) -> None:
        self.source = str(source)
        self.remote = self.source.lower().startswith(("http://", "https://"))
        self.name = Path(urlparse(self.source).path).name if self.remote else Path(source).name
        self.since = since  # feeds carry no update times, so every item is read
        self.market = market.lower() if market else None
        self.problems: list[CatalogProblem] = []
        self._sleep = sleep
        self._timeout = timeout
        if not self.remote and not Path(source).is_file():
            raise InputError(f"catalog file not found: {source}")

    def _problem(self, where: int | str, reason: str, product: str | None = None) -> None:
        self.problems.append(CatalogProblem(f"{self.name}:{where}", reason, product))

    def _bytes(self) -> bytes:
        if not self.remote:
            try:
                return Path(self.source).read_bytes()
            except OSError as exc:
                raise InputError(f"catalog file cannot be read: {exc}") from exc
        import time

        from .http import HttpClient

        client = HttpClient(name="feed", timeout=self._timeout, sleep=self._sleep or time.sleep)
        resp = client.request("GET", self.source)
        if resp.status_code != 200:
            raise InputError(f"feed {self.source} answered HTTP {resp.status_code}")
        return resp.content

    def products(self) -> Iterator[Product]:
        """Yield one Product per item group (or ungrouped item), in feed order."""
        data = self._bytes()
        if not data.strip():
            self._problem(1, "file is empty")
            return
        head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        items = self._xml_items(data) if head == b"<" else self._tsv_items(data)
        groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        seen: dict[str, str] = {}
        for where, item in items:
            item_id = (item.get("id") or [""])[0].strip()
            if not item_id:
                self._problem(where, "item has no id; item skipped")
                continue
            if item_id in seen:
                self._problem(where, f"duplicate item id {item_id!r} (first at {seen[item_id]}); item skipped", item_id)
                continue
            seen[item_id] = str(where)
            group = (item.get("item_group_id") or [""])[0].strip() or item_id
            groups.setdefault(group, []).append((str(where), item))
        for group, members in groups.items():
            product = self._product(group, members)
            if product is not None:
                yield product

    # --- readers: each yields (where, {attribute: [values]}) -------------------------------------

    def _tsv_items(self, data: bytes) -> Iterator[tuple[int | str, dict[str, list[str]]]]:
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        bad_before = BAD_BYTES[0]
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors=DECODE_ERRORS, newline="")
        reader = csv.reader(text, delimiter="\t", quotechar='"', strict=True)
        try:
            header = [h.strip().lower().removeprefix("g:") for h in next(reader)]
        except (StopIteration, csv.Error) as exc:
            self._problem(1, f"header row cannot be read ({exc})")
            return
        if "id" not in header:
            self._problem(1, "not a Merchant Center feed: no 'id' column")
            return
        prev = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._problem(prev + 1, f"row is not valid TSV ({exc}); row skipped")
                prev = reader.line_num
                continue
            line, prev = prev + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if BAD_BYTES[0] != bad_before and bad_bytes_at("\x1f".join(row)) is not None:
                self._problem(line, "row is not valid UTF-8; row skipped")
                continue
            item: dict[str, list[str]] = {}
            for name, cell in zip(header, row):
                if not cell.strip():
                    continue
                if name == "additional_image_link":
                    item.setdefault(name, []).extend(u.strip() for u in cell.split(",") if u.strip())
                else:
                    item.setdefault(name, []).append(cell)
            yield line, item

    def _xml_items(self, data: bytes) -> Iterator[tuple[int | str, dict[str, list[str]]]]:
        declared = re.match(rb"<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)", data.lstrip(b"\xef\xbb\xbf"))
        bad_lines: set[int] = set()
        if declared is None or declared.group(1).lower().replace(b"_", b"-") in (b"utf-8", b"utf8"):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                # Replace undecodable bytes so the parser can go on; items holding them are reported and skipped.
                text = data.decode("utf-8", "replace")
                bad_lines = {n for n, line in enumerate(text.split("\n"), start=1) if "\ufffd" in line}
                data = text.encode("utf-8")
        parser = ET.XMLPullParser(events=("end",))
        chunk = 64 * 1024
        try:
            for start in range(0, len(data), chunk):
                parser.feed(data[start : start + chunk])
                yield from self._drain(parser, bad_lines)
            parser.close()
            yield from self._drain(parser, bad_lines)
        except ET.ParseError as exc:
            line = exc.position[0] if getattr(exc, "position", None) else "?"
            self._problem(line, f"feed is truncated or not well-formed XML ({exc}); items after this point not read")

    def _drain(self, parser: ET.XMLPullParser, bad_lines: set[int]) -> Iterator[tuple[str, dict[str, list[str]]]]:
        for _event, elem in parser.read_events():
            if _local(elem.tag)[1] not in ("item", "entry"):
                continue
            item = self._xml_item(elem)
            elem.clear()
            item_id = (item.get("id") or ["?"])[0].strip()
            if bad_lines and any("\ufffd" in v for vals in item.values() for v in vals):
                self._problem(f"item {item_id}", "item is not valid UTF-8; item skipped", item_id)
                continue
            yield f"item {item_id}", item

    def _xml_item(self, elem: ET.Element) -> dict[str, list[str]]:
        item: dict[str, list[str]] = {}
        for child in elem:
            ns, name = _local(child.tag)
            name = name.lower()
            if ns == ATOM_NS:
                if name == "link":
                    value = child.get("href") or ""
                elif name in ("summary", "content"):
                    name, value = "description", "".join(child.itertext())
                else:
                    value = "".join(child.itertext())
            elif ns in (G_NS, ""):
                value = "".join(child.itertext())
            else:
                continue
            if value.strip():
                item.setdefault(name, []).append(value)
        return item

    # --- one product from its items -----------------------------------------------------------------

    def _product(self, group: str, members: list[tuple[str, dict[str, list[str]]]]) -> Product | None:
        variants: list[dict[str, Any]] = []
        images: list[dict[str, str]] = []
        srcs: set[str] = set()
        first: dict[str, list[str]] | None = None
        first_where = members[0][0]
        for where, item in members:
            try:
                variant = self._variant(item)
                item_images = self._images(item)
            except BadValue as exc:
                self._problem(where, f"{exc}; item skipped", group)
                continue
            if first is None:
                first, first_where = item, where
            variants.append(variant)
            for image in item_images:
                if image not in srcs:
                    srcs.add(image)
                    images.append({"src": image, "alt": ""})
        if first is None:
            return None

        def one(name: str) -> str:
            return (first.get(name) or [""])[0].strip()  # type: ignore[union-attr]

        title = one("title")
        if not title:
            self._problem(first_where, "item has no title; product skipped", group)
            return None
        html = one("description")
        category = one("product_type") or one("google_product_category")
        prices: dict[str, dict[str, Any]] = {}
        if self.market:
            priced = [v for v in variants if v["price"] is not None]
            if priced:
                cheapest = min(priced, key=lambda v: v["price"])
                prices[self.market] = {"amount": cheapest["price"], "currency": cheapest["currency"],
                                       "compare_at": cheapest["compare_at_price"]}
        try:
            return Product.model_validate(
                {
                    "id": group,
                    "handle": group,
                    "title": title,
                    "description": html_to_text(html),
                    "description_html": html,
                    "brand": one("brand"),
                    "category": category.split(">")[-1].strip(),
                    "tags": [],
                    "variants": variants,
                    "images": images,
                    "prices": prices,
                    "source": f"{self.name}:{first_where}",
                }
            )
        except ValidationError as exc:
            self._problem(first_where, f"{exc.errors()[0]['msg']}; product skipped", group)
            return None

    def _variant(self, item: dict[str, list[str]]) -> dict[str, Any]:
        def one(name: str) -> str:
            return (item.get(name) or [""])[0].strip()

        price = parse_money(one("price"), "price")
        sale = parse_money(one("sale_price"), "sale_price")
        if price is None and sale is None:
            raise BadValue("item has no price")
        amount, currency = sale or price  # type: ignore[misc]
        compare = None
        if sale is not None and price is not None:
            if price[1] != sale[1]:
                raise BadValue(f"sale_price currency {sale[1]} differs from price currency {price[1]}")
            compare = price[0] if price[0] > sale[0] else None
        options = {label: one(attr) for attr, label in OPTION_ATTRS if one(attr)}
        return {
            "sku": one("id"),
            "title": " / ".join(options.values()) or one("title"),
            "options": options,
            "price": amount,
            "currency": currency,
            "compare_at_price": compare,
            "gtin": one("gtin"),
        }

    def _images(self, item: dict[str, list[str]]) -> list[str]:
        links = [v.strip() for v in item.get("image_link", [])[:1]]
        extra = [v.strip() for v in item.get("additional_image_link", [])]
        if len(extra) > MAX_ADDITIONAL_IMAGES:
            extra = extra[:MAX_ADDITIONAL_IMAGES]  # Merchant Center takes at most 10; the rest are ignored there too
        links += extra
        if self.remote:
            for link in links:
                if urlparse(link).scheme.lower() not in ("http", "https"):
                    raise BadValue(f"image {link!r} is not an http(s) URL (a remote feed may only link http and https)")
        return [link for link in links if link]
