"""The adapter registry: kind name -> adapter class, and ``open_catalog`` that picks one for a source.

Its own module, not the package ``__init__``, so a submodule that opens a catalog (output.ingest_to)
imports the registry without importing the package that imports it back.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from productreel.errors import InputError

from .shopify_csv import ShopifyCsv

ADAPTERS: dict[str, type] = {
    "shopify-csv": ShopifyCsv,
}

_REMOTE = ("http://", "https://", "shopify://")

def _register_optional() -> None:
    """Add the adapters that live in their own modules (kept import-light)."""
    import importlib

    for kind, (module, name) in {
        "shopify": ("shopify", "ShopifyAdmin"),
        "merchant-center": ("merchant_center", "MerchantCenterFeed"),
        "woocommerce": ("woocommerce", "WooCommerce"),
        "woocommerce-csv": ("woocommerce_csv", "WooCommerceCsv"),
        "adobe-commerce-csv": ("adobe_commerce_csv", "AdobeCommerceCsv"),
        "table": ("table", "TableFile"),
    }.items():
        try:
            ADAPTERS.setdefault(kind, getattr(importlib.import_module(f"{__package__}.{module}"), name))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{module}":
                raise


_register_optional()


def is_remote(source: str | Path, kind: str | None = None) -> bool:
    """True when the catalog comes from a remote system (an API or a URL): its images must be http(s)."""
    return str(source).lower().startswith(_REMOTE) or kind in ("shopify", "woocommerce")


def guess_kind(source: str | Path) -> str:
    """The adapter kind for a source, from its URL or the file's name and first line."""
    text = str(source)
    low = text.lower()
    if low.startswith("shopify://") or ".myshopify.com" in low:
        return "shopify"
    if low.startswith(("http://", "https://")):
        if "/wp-json/" in low or "woocommerce" in low:
            return "woocommerce"
        if low.split("?")[0].endswith((".xml", ".rss", ".atom", ".tsv", ".txt")):
            return "merchant-center"
        raise InputError(f"cannot tell the catalog kind of {text}; pass --source")
    path = Path(source)
    suffix = path.suffix.lower()
    if path.with_name(f"{path.stem}.mapping.yaml").is_file():
        return "table"  # a column mapping beside the file says how to read it
    if suffix in (".xml", ".rss", ".atom"):
        return "merchant-center"
    if suffix in (".jsonl", ".ndjson", ".parquet", ".pq", ".json"):
        return "table"
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192).decode("utf-8", "replace").lstrip("\ufeff")
    except OSError:
        raise InputError(f"catalog file not found: {path}") from None
    first = head.split("\n", 1)[0].strip().lower()
    if head.lstrip().startswith("<"):
        return "merchant-center"
    if "\t" in first:
        return "merchant-center"
    names = {c.strip().strip('"') for c in first.split(",")}
    if suffix == ".csv" or "," in first:
        from .csvfile import header_names

        header = header_names(path)
        # A source that knows its export's header says so (``recognises``), third-party ones included.
        for kind, adapter in ADAPTERS.items():
            recognises = getattr(adapter, "recognises", None)
            if callable(recognises) and recognises(header):
                return kind
    if ("handle" in names or "url handle" in names) and "title" in names:
        return "shopify-csv"
    if suffix in (".csv",) and names:
        return "table"
    if suffix in (".tsv", ".txt"):
        return "merchant-center"
    return "shopify-csv" if suffix == ".csv" else "table"


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """Adapter options from KEY=VALUE strings (CLI --option): numbers and true/false become values."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"option {pair!r} is not KEY=VALUE")
        text = value.strip()
        parsed: Any = text
        if text.lower() in ("true", "false"):
            parsed = text.lower() == "true"
        else:
            for cast in (int, float):
                try:
                    parsed = cast(text)
                    break
                except ValueError:
                    continue
        options[key.strip().replace("-", "_")] = parsed
    return options


def open_catalog(
    source: str | Path, kind: str | None = None, *, since: datetime | str | None = None, **options: Any
) -> CatalogAdapter:
    """An adapter for ``source``; the kind is guessed from the file when None."""
    text = str(source)
    is_remote = text.lower().startswith(_REMOTE)
    if not is_remote and not Path(source).is_file():
        raise InputError(f"catalog file not found: {source}")
    from .base import parse_since

    since = parse_since(since)
    kind = kind or guess_kind(source)
    if kind not in ADAPTERS:
        raise InputError(f"unknown catalog kind {kind!r}; known: {', '.join(sorted(ADAPTERS))}")
    return ADAPTERS[kind](source, since=since, **options)
