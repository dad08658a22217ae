"""Markets: one YAML file per market in localization/markets/, read into productreel.models.Market."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from productreel.errors import InputError
from productreel.models import Market

MARKETS_DIR = Path(__file__).resolve().parent / "markets"


def _default_dir() -> Path:
    """The markets folder from settings, or the one shipped with the package."""
    try:
        from productreel.settings import get_settings

        return Path(get_settings().markets_dir)
    except Exception:  # settings that cannot be read must not hide the shipped markets
        return MARKETS_DIR


def load_markets(directory: Path | None = None) -> dict[str, Market]:
    """All markets defined in ``directory`` (default: settings.markets_dir), keyed by code.

    The seller's overrides file (``PRODUCTREEL_MARKET_OVERRIDES``) replaces fields of the markets it names.
    """
    folder = Path(directory or _default_dir()).resolve()
    if not folder.is_dir():
        raise InputError(f"markets folder not found: {folder}")
    # The file stamps are part of the cache key so an edited market file is read again.
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml")))
    markets = {code: market.model_copy(deep=True) for code, market in _load(folder, stamp)}
    path = _overrides_path()
    if path is None:
        return markets
    if not path.is_file():
        raise InputError("market overrides file not found", where=str(path))
    for code, fields in _read_overrides(path, path.stat().st_mtime_ns).items():
        if code not in markets:
            raise InputError(f"unknown market {code!r} in the market overrides; known markets: {', '.join(sorted(markets))}",
                             where=str(path))
        try:
            markets[code] = Market.model_validate({**markets[code].model_dump(), **fields})
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise InputError(f"market {code} field {field}: {first['msg']}", where=str(path)) from exc
    return markets


# Fields of the overrides file with a type the Market model does not declare (it keeps unknown fields).
_OVERRIDE_BOOLS = ("machine_translation_needs_approval",)


def _overrides_path() -> Path | None:
    try:
        from productreel.settings import get_settings

        path = get_settings().market_overrides
    except Exception:  # noqa: BLE001 - settings that cannot be read must not hide the shipped markets
        return None
    return Path(path).expanduser() if path else None


@lru_cache(maxsize=4)
def _read_overrides(path: Path, stamp: int) -> dict[str, dict]:
    """The overrides file: market code -> fields, checked for shape (the market model checks the values)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"market overrides file is not valid YAML: {exc}", where=f"{path}{f':{mark.line + 1}' if mark else ''}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InputError("market overrides must map market codes to fields (de: {machine_translation_needs_approval: false})",
                         where=str(path))
    out: dict[str, dict] = {}
    for code, fields in data.items():
        for name in _OVERRIDE_BOOLS:
            if name in fields and not isinstance(fields[name], bool):
                raise InputError(f"market {code} field {name} must be true or false, not {fields[name]!r}", where=str(path))
        if "code" in fields and str(fields["code"]).lower() != str(code).lower():
            raise InputError(f"market {code}: an override cannot change the market code", where=str(path))
        out[str(code).strip().lower()] = dict(fields)
    return out


@lru_cache(maxsize=8)
def _load(directory: Path, stamp: tuple) -> tuple[tuple[str, Market], ...]:
    markets: dict[str, Market] = {}
    for path in sorted(directory.glob("*.yaml")):
        where = str(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark else ""
            raise InputError(f"market file is not valid YAML: {exc}", where=f"{where}{line}") from exc
        if not isinstance(data, dict):
            raise InputError("market file must hold a mapping", where=where)
        data.setdefault("code", path.stem)
        try:
            market = Market.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise InputError(f"market field {field}: {first['msg']}", where=where) from exc
        if market.code != path.stem:
            raise InputError(f"market code {market.code!r} does not match the file name", where=where)
        markets[market.code] = market
    return tuple(sorted(markets.items()))


def get_market(code: str, directory: Path | None = None) -> Market:
    """The market with ``code`` (case-insensitive); InputError listing the known codes otherwise."""
    markets = load_markets(directory)
    key = code.strip().lower()
    if key not in markets:
        known = ", ".join(sorted(markets))
        raise InputError(f"unknown market {code!r}; known markets: {known}", market=code)
    return markets[key]


def get_markets(codes: str | list[str], directory: Path | None = None) -> list[Market]:
    """Markets for a comma-separated string or list of codes, in the order given."""
    if isinstance(codes, str):
        codes = [c for c in (p.strip() for p in codes.split(",")) if c]
    return [get_market(c, directory) for c in codes]


def market_for_catalog_name(name: str, directory: Path | None = None) -> list[Market]:
    """Markets whose ``catalog_markets`` include the catalog's market name (case-insensitive)."""
    key = name.strip().lower()
    return [m for m in load_markets(directory).values() if key in (n.lower() for n in m.catalog_markets)]


MARKET_COLUMNS = ("code", "name", "locale", "currency", "tax", "units", "font", "captions", "ad label", "AI label", "voice")


def markets_table(directory: Path | None = None) -> list[dict[str, str]]:
    """One row per market for `productreel markets`: code, locale, currency, tax, units, fonts, captions, labels."""
    rows = []
    for market in load_markets(directory).values():
        tax = (market.tax_label or "incl.") if market.tax_inclusive else "excl."
        rows.append(
            {
                "code": market.code,
                "name": market.name,
                "locale": market.locale + (" (RTL)" if market.rtl else ""),
                "currency": market.currency,
                "tax": tax,
                "units": market.measurement,
                "font": market.fonts[0] if market.fonts else "",
                "captions": f"{market.caption_chars_per_line}/line {market.caption_chars_per_second:g}/s",
                "ad label": market.ad_label,
                "AI label": market.ai_label,
                "voice": market.voice,
            }
        )
    return rows


def format_markets_table(directory: Path | None = None) -> str:
    """The markets table as aligned plain text (what the CLI prints without Rich)."""
    rows = markets_table(directory)
    widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in MARKET_COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in MARKET_COLUMNS).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in MARKET_COLUMNS).rstrip() for r in rows]
    return "\n".join(lines)
