"""LIC-1: every asset in a clip has a license entry (source, license, owner) that allows commercial use.

The asset manifest is a list of dicts, one per asset:

    {"kind": "product_photo" | "font" | "music" | "logo" | "model" | "footage",
     "path": "samples/images/mug.jpg",      # the file, when there is one
     "name": "mug.jpg",                      # what a reviewer reads
     "source": "catalog.csv:12",             # where it came from
     "license": "seller-owned",              # SPDX id or the license's words
     "owner": "ACME GmbH"}

It comes from check_clip(assets=...), the storyboard's ``metadata.assets`` or the renderer's JSON
sidecar ``"assets"``. Assets the storyboard uses but the manifest lacks get the rule files' defaults
(licenses.defaults) for their kind — system fonts, music productreel generated, the seller's own
catalog photos, also the one a generated shot was made from — and are blocked when no default
covers them. The entries become C2PA ingredients.

The seller's rules file (PRODUCTREEL_SELLER_RULES) says otherwise where it must: its
``licenses.assets`` entries (``match``: a glob on the asset's path or name, optional ``kind``)
replace the entry of every asset they match — a stock photo in the catalog, a model licensed
commercially — and ``licenses.territories`` names licences that exclude markets.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

from compliance.context import Context, finding
from compliance.rules import Rule
from productreel.models import Finding

SYSTEM_FONT_DIRS = ("/usr/share/fonts",)
GENERATED_MUSIC_DIR = Path(__file__).resolve().parent.parent / "clips" / "music"


def manifest_assets(ctx: Context) -> list[dict] | None:
    """The asset manifest given for this clip, or None when none was given anywhere."""
    found: list[dict] = []
    any_given = False
    for src in (ctx.assets, (ctx.storyboard.metadata.assets if ctx.storyboard else None), (ctx.sidecar or {}).get("assets")):
        if src is not None:
            any_given = True
            found += [dict(a) for a in src]
    if not any_given:
        return None
    # The same asset may come from two places (the job's C2PA list and the storyboard's): once each.
    unique: dict[str, dict] = {}
    for a in found:
        unique.setdefault(_key(a), a)
    return list(unique.values())


def used_assets(ctx: Context) -> list[dict]:
    """The assets the storyboard puts into the clip: product photos, fonts, music, generated shots' models."""
    sb = ctx.storyboard
    if sb is None:
        return []
    out: list[dict] = []
    for scene in sb.scenes:
        if scene.shot.kind == "image" and scene.shot.image:
            out.append({"kind": "product_photo", "path": str(scene.shot.image)})
        if scene.shot.kind == "generated":
            if scene.shot.image:
                # The seller's photo the shot was generated from: an input, not a part of the picture.
                out.append({"kind": "product_photo", "path": str(scene.shot.image), "relationship": "inputTo"})
            out.append({"kind": "model", "name": sb.metadata.model or "diffusion model"})
    for font in sb.fonts:
        out.append({"kind": "font", "path": str(font)})
    if sb.music:
        out.append({"kind": "music", "path": str(sb.music)})
    return out


def _key(a: dict) -> str:
    if a.get("path"):
        try:
            return str(Path(a["path"]).resolve())
        except OSError:
            return str(a["path"])
    return f"{a.get('kind')}:{a.get('name')}"


def _default_for(a: dict, defaults: dict) -> dict | None:
    kind = a.get("kind")
    path = str(a.get("path") or "")
    if kind == "font" and path.startswith(SYSTEM_FONT_DIRS):
        return defaults.get("font")
    if kind == "music" and (path.startswith(str(GENERATED_MUSIC_DIR)) or not Path(path).is_absolute() or path.startswith("generated")):
        return defaults.get("music")
    if kind == "product_photo":
        return defaults.get("product_photo")
    return None


def resolve_assets(ctx: Context) -> list[dict]:
    """Every asset of the clip with its license entry: the manifest's, else a default, else none (blocked)."""
    defaults = (ctx.book.licenses or {}).get("defaults", {})
    given = manifest_assets(ctx) or []
    by_key = {_key(a): a for a in given}
    by_kind_name = {(a.get("kind"), a.get("name")): a for a in given if a.get("name")}
    out = list(given)
    for a in used_assets(ctx):
        if _key(a) in by_key or (a.get("kind"), a.get("name")) in by_kind_name:
            continue
        by_key[_key(a)] = a  # a photo in two scenes is one asset
        if a["kind"] == "model" and any(g.get("kind") == "model" for g in given):
            continue
        d = _default_for(a, defaults)
        out.append({**a, **(d or {}), "defaulted": bool(d)})
    seller = (ctx.book.licenses or {}).get("assets") or []
    out = [_seller_entry(a, seller) for a in out]
    # A generated shot is used under the licence of the model that made it, as the seller's entry may have set it.
    models = {a.get("name"): a for a in out if a.get("kind") == "model"}
    for a in out:
        made_by = models.get(a.get("model")) if a.get("kind") == "generated_shot" and not a.get("seller") else None
        if made_by is not None and made_by.get("license"):
            a["license"] = f"output of {made_by['name']} under {made_by['license']}"
            a.pop("note", None)
    return out


def _seller_entry(a: dict, seller: list[dict]) -> dict:
    """The asset with the seller's own entry for it, when their rules file has one (the last match wins)."""
    names = [str(a.get(k)) for k in ("path", "name") if a.get(k)]
    names += [Path(n).name for n in names]
    for entry in seller:
        pattern = str(entry.get("match") or "")
        if not pattern or (entry.get("kind") and entry["kind"] != a.get("kind")):
            continue
        if any(fnmatch(n, pattern) for n in names):
            a = {**a, **{k: v for k, v in entry.items() if k not in ("match", "kind")}, "defaulted": False, "seller": True}
            a.pop("note", None)
    return a


def license_problem(a: dict, forbidden: list[str], *, territories: dict | None = None, market=None) -> str | None:
    """Why an asset's license entry does not let the clip be published (in ``market``), or None."""
    missing = [k for k in ("source", "license", "owner") if not a.get(k)]
    if missing:
        why = f": {a['note']}" if a.get("note") else ""
        return f"no license entry ({', '.join(missing)} missing){why}"
    lic = str(a["license"]).casefold()
    for word in forbidden:
        if word.casefold() in lic:
            return f"license {a['license']!r} forbids commercial use"
    if market is not None:
        for name, terms in (territories or {}).items():
            excluded = [str(m).lower() for m in (terms or {}).get("excluded", [])]
            if name.casefold() in lic and (market.code.lower() in excluded or (market.eu and "eu" in excluded)):
                why = (terms or {}).get("why") or f"it excludes {', '.join(excluded)}"
                return f"license {a['license']!r} does not cover market {market.code}: {why}"
    return None


def check_license(rule: Rule, ctx: Context) -> list[Finding]:
    """BLOCK each asset without a license entry or with a non-commercial one."""
    if manifest_assets(ctx) is None and ctx.storyboard is None:
        return [finding(rule, ctx, "no asset manifest: the rights of this clip's assets are unknown", severity="INFO")]
    forbidden = (ctx.book.licenses or {}).get("forbidden", [])
    territories = (ctx.book.licenses or {}).get("territories", {})
    out = []
    for a in resolve_assets(ctx):
        problem = license_problem(a, forbidden, territories=territories, market=ctx.market)
        if problem:
            name = a.get("name") or (Path(a["path"]).name if a.get("path") else a.get("kind"))
            out.append(finding(rule, ctx, f"{a.get('kind', 'asset')} {name}: {problem}", asset={k: str(v) for k, v in a.items()}))
    return out


def asset_manifest(storyboard, *, assets: list[dict] | None = None, rules=None) -> list[dict]:
    """The clip's asset manifest for sign_clip: given entries plus the storyboard's assets with their defaults."""
    from productreel.models import Market

    from compliance.context import Context
    from compliance.rules import rule_book

    ctx = Context(path=Path(f"{storyboard.job_key or 'clip'}.mp4"), market=Market(code=storyboard.market, name="", locale=storyboard.locale, language="", currency=""),
                  destination=storyboard.destination, book=rule_book(rules), storyboard=storyboard, assets=assets)
    out = []
    for a in resolve_assets(ctx):
        entry = {k: v for k, v in a.items() if k != "defaulted" and v is not None}
        entry.setdefault("name", Path(entry["path"]).name if entry.get("path") else entry.get("kind", "asset"))
        out.append(entry)
    return out
