"""Write the sample catalog again as a Merchant Center RSS feed and as a JSON Lines table with its mapping.

    .venv/bin/python samples/make_feeds.py

The outputs (merchant_center.xml, products.jsonl, products.mapping.yaml) are
committed; they show the other catalog kinds on the same products.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

MAPPING = """\
# Column mapping for products.jsonl (catalog_adapters.table): Product field -> column.
handle: handle
title: title
description: description_html
brand: vendor
category: type
tags: tags
currency: USD
variant:
  sku: sku
  price: price
  compare_at_price: compare_at_price
  gtin: barcode
  options: {Color: color, Size: size, Scent: scent, Set: set, Blade length: blade_length}
images: [images]
image_alt: image_alt
features: features
steps: steps
translations:
  de: {title: title_de, description: description_de, features: features_de, steps: steps_de}
  ja: {title: title_ja, description: description_ja, features: features_ja, steps: steps_ja}
prices:
  germany: {amount: price_germany, currency: EUR, compare_at: compare_at_germany}
  japan: {amount: price_japan, currency: JPY, compare_at: compare_at_japan}
"""


def main() -> None:
    """Read catalog.csv and write the feed, the table and its mapping."""
    from catalog_adapters import open_catalog

    products = list(open_catalog(HERE / "catalog.csv").products())
    items = []
    lines = []
    for p in products:
        for n, v in enumerate(p.variants):
            image = p.images[min(n, len(p.images) - 1)] if p.images else None
            g = {
                "id": v.sku,
                "item_group_id": p.handle if len(p.variants) > 1 else "",
                "title": p.title if not v.options else f"{p.title} ({v.title})",
                "description": p.description_html,
                "image_link": image.src if image else "",
                "price": f"{v.compare_at_price or v.price} {v.currency}",
                "sale_price": f"{v.price} {v.currency}" if v.compare_at_price else "",
                "brand": p.brand,
                "gtin": v.gtin,
                "product_type": p.category,
                "availability": "in_stock",
                "condition": "new",
                "color": v.options.get("Color", ""),
                "size": v.options.get("Size", ""),
            }
            if len(p.variants) == 1:
                g["id"] = p.handle
            fields = "".join(f"<g:{k}>{escape(str(val))}</g:{k}>" for k, val in g.items() if val)
            items.append(f"<item>{fields}</item>")
            row = {
                "handle": p.handle, "title": p.title if n == 0 else "", "description_html": p.description_html if n == 0 else "",
                "vendor": p.brand, "type": p.category, "tags": ", ".join(p.tags), "sku": v.sku,
                "price": str(v.price), "compare_at_price": str(v.compare_at_price or ""), "barcode": v.gtin,
                "color": v.options.get("Color", ""), "size": v.options.get("Size", ""),
                "scent": v.options.get("Scent", ""), "set": v.options.get("Set", ""),
                "blade_length": v.options.get("Blade length", ""),
                "images": "|".join(i.src for i in p.images) if n == 0 else "",
                "image_alt": p.images[0].alt if p.images else "",
                "features": p.features if n == 0 else [], "steps": p.steps if n == 0 else [],
            }
            for loc in ("de", "ja"):
                t = p.translations.get(loc)
                row[f"title_{loc}"] = t.title if t and n == 0 else ""
                row[f"description_{loc}"] = t.description if t and n == 0 else ""
                row[f"features_{loc}"] = t.features if t and n == 0 else []
                row[f"steps_{loc}"] = t.steps if t and n == 0 else []
            de, jp = p.prices.get("germany"), p.prices.get("japan")
            row["price_germany"] = str(de.amount) if de and n == 0 else ""
            row["compare_at_germany"] = str(de.compare_at or "") if de and n == 0 else ""
            row["price_japan"] = str(jp.amount) if jp and n == 0 else ""
            row["compare_at_japan"] = str(jp.compare_at or "") if jp and n == 0 else ""
            lines.append(json.dumps(row, ensure_ascii=False))
    rss = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel>'
        "<title>Sample store</title><link>https://shop.example</link><description>Sample feed</description>\n"
        + "\n".join(items)
        + "\n</channel></rss>\n"
    )
    (HERE / "merchant_center.xml").write_text(rss, encoding="utf-8")
    (HERE / "products.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (HERE / "products.mapping.yaml").write_text(MAPPING, encoding="utf-8")
    print(f"{len(items)} feed items, {len(lines)} table rows")


if __name__ == "__main__":
    main()
