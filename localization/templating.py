"""Scripts from Jinja2 templates: sandboxed, strict, overridable per brand and market.

Lookup for ``<kind>.j2`` (first found wins):
templates/<brand>/<market>/ -> templates/<market>/ -> templates/<brand>/ -> templates/default/.

A template renders sections, each opened by a line ``## <name>``::

    ## hook
    {{ title }}
    ## lines
    - {{ features[0] }}
    ## cta
    {{ cta }}

Sections: hook, lines, cta, steps, voiceover, prompt, negative_prompt. In list sections (lines,
steps) each ``- `` line is one item; elsewhere the lines are joined with spaces. Catalog text is
passed as data only and every value has its whitespace collapsed, so it can neither run as
template code nor open a section: a title ``{{ x }}`` shows as written.
"""

from __future__ import annotations

import hashlib
import re
import traceback
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, pass_context, StrictUndefined, TemplateError, TemplateNotFound, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from productreel.errors import InputError
from productreel.models import LocalizedProduct, Market, Product, Script, stable_hash

from .linebreak import is_cjk_breakable

SECTIONS = ("hook", "lines", "cta", "steps", "voiceover", "prompt", "negative_prompt")
LIST_SECTIONS = {"lines", "steps"}
_HEADER = re.compile(r"^##\s*([a-z_]+)\s*$")
LOCALIZED_KEY = "localized-product"  # Script.templates entry: hash of the LocalizedProduct used
ROOT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _templates_dir(templates_dir: Path | None) -> Path:
    if templates_dir is not None:
        return Path(templates_dir)
    from productreel.settings import get_settings

    return Path(get_settings().templates_dir)


def template_candidates(kind: str, market: Market | str, brand: str = "default", template: str = "default") -> list[str]:
    """Template names in lookup order for a clip kind, market, brand and template set (a campaign's own templates)."""
    code = market if isinstance(market, str) else market.code
    names = []
    if template and template != "default":
        names += [f"{template}/{code}/{kind}.j2", f"{template}/{kind}.j2"]
    if brand and brand != "default":
        names.append(f"{brand}/{code}/{kind}.j2")
    names.append(f"{code}/{kind}.j2")
    if brand and brand != "default":
        names.append(f"{brand}/{kind}.j2")
    names.append(f"default/{kind}.j2")
    return names


def template_sets(templates_dir: Path | None = None) -> list[str]:
    """The template sets a run or campaign may name: the folders under templates/ that are not a market."""
    from localization.markets import load_markets

    root = _templates_dir(templates_dir)
    markets = set(load_markets())
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in markets and any(p.rglob("*.j2")))


def check_template_set(template: str, templates_dir: Path | None = None) -> None:
    """Raise InputError naming the known sets when ``template`` is not a template set."""
    if template and template != "default" and template not in template_sets(templates_dir):
        known = ", ".join(template_sets(templates_dir))
        raise InputError(f"no template set {template!r}; known: {known}", where=str(_templates_dir(templates_dir)))


def find_template(kind: str, market: Market | str, brand: str = "default", templates_dir: Path | None = None,
                  template: str = "default") -> str:
    """The first template name that exists for ``kind``, ``market``, ``brand`` and ``template`` set."""
    root = _templates_dir(templates_dir)
    names = template_candidates(kind, market, brand, template)
    for name in names:
        if (root / name).is_file():
            return name
    raise InputError(f"no template for clip kind {kind!r}; looked for {', '.join(names)}", where=str(root))


# Every value a template writes is fenced by these private-use marks while the output is parsed,
# so text from the catalog can never be read as a "## section" line; they are removed afterwards.
_OPEN, _CLOSE = "\ue000", "\ue001"


def _collapse(value: Any) -> str:
    """Whitespace-collapsed, fenced text for every value written into a script."""
    if value is None:
        return ""
    text = re.sub(r"[^\S\u00a0\u202f]+", " ", str(value)).strip().replace(_OPEN, "").replace(_CLOSE, "")
    return f"{_OPEN}{text}{_CLOSE}" if text else ""


@lru_cache(maxsize=8)
def _environment(root: Path) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(root)),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_collapse,
    )
    env.filters["sentence"] = _first_sentence
    env.filters["stop"] = _stop
    env.filters["num"] = _num
    return env


_ENDS = ".!?。！？।؟…"


@pass_context
def _stop(context: Any, text: Any) -> str:
    """``text`` ending a sentence the way its script does (``.``, ``。``, ``।``) unless it already does."""
    text = str(text or "").strip()
    if not text or text[-1] in _ENDS:
        return text
    # The script of the text decides, not the market: an untranslated English line keeps its ".",
    # and a Japanese line ending in "ml" still gets "。".
    if any(is_cjk_breakable(ch) for ch in text):
        return text + "。"
    if any("\u0900" <= ch <= "\u097f" for ch in text):
        return text + "।"
    if any(ch.isalpha() for ch in text):
        return text + "."
    market = context.get("market") or {}
    return text + {"ja": "。", "zh": "。", "hi": "।"}.get(str(market.get("language", "")), ".")


@pass_context
def _num(context: Any, value: Any) -> str:
    """A number in the market's digits and separators (``١٢``, ``1.234``)."""
    from .formatting import format_number

    market = context.get("market") or {}
    shim = Market(code=str(market.get("code", "x")), name="", locale=str(market.get("locale", "en-US")), language="", currency="", numbering=market.get("numbering", "latn"))
    return format_number(value, shim)


@pass_context
def _first_sentence(context: Any, text: Any) -> str:
    """The first sentence of ``text`` by the market's sentence rules ("inkl. MwSt." and "$18.00" stay whole)."""
    from .segment import sentences

    market = context.get("market") or {}
    parts = sentences(str(text or ""), str(market.get("locale") or "") or None)
    return parts[0] if parts else ""


def _hash_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:20]


def template_versions(kind: str, market: Market | str, brand: str = "default", templates_dir: Path | None = None,
                      template: str = "default") -> dict[str, str]:
    """{template name: content hash} for the template a job uses and every template it pulls in."""
    root = _templates_dir(templates_dir)
    env = _environment(root.resolve())
    versions: dict[str, str] = {}
    todo = [find_template(kind, market, brand, root, template)]
    while todo:
        name = todo.pop()
        if name in versions:
            continue
        path = root / name
        if not path.is_file():
            raise InputError(f"template {name!r} not found", where=str(root))
        versions[name] = _hash_file(path)
        try:
            ast = env.parse(path.read_text(encoding="utf-8"), name=name, filename=f"templates/{name}")
        except TemplateSyntaxError as exc:
            raise InputError(f"template error: {exc.message}", where=f"templates/{name}:{exc.lineno}") from exc
        todo += [n for n in meta.find_referenced_templates(ast) if isinstance(n, str)]
    return dict(sorted(versions.items()))


def template_context(lp: LocalizedProduct, product: Product, market: Market, kind: str, brand: str = "default") -> dict[str, Any]:
    """The variables a template sees: localized text, prices and market facts, all plain data."""
    return {
        "kind": kind,
        "brand": product.brand or "",
        "brand_profile": brand,
        "handle": product.handle,
        "title": lp.title.text,
        "description": lp.description.text,
        "features": [f.text for f in lp.features if f.text.strip()],
        "steps": [s.text for s in lp.steps if s.text.strip()],
        "cta": lp.cta.text if lp.cta else "",
        "price": lp.price_text or "",
        "compare_at": lp.compare_at_text or "",
        "prior_price": lp.prior_price_text or "",
        "tax": lp.tax_text or "",
        # The source-language text, for diffusion prompts (the models read English).
        "source_title": product.title,
        "source_description": product.description,
        "category": product.category,
        "tags": list(product.tags),
        "market": {
            "code": market.code,
            "name": market.name,
            "locale": market.locale,
            "language": market.language,
            "currency": market.currency,
            "rtl": market.rtl,
            "numbering": market.numbering,
            "ad_label": market.ad_label,
            "ai_label": market.ai_label,
        },
    }


def _where(exc: BaseException, fallback: str) -> str:
    """``templates/x.j2:12`` for the template frame nearest the error."""
    if isinstance(exc, TemplateSyntaxError) and exc.lineno:
        name = exc.filename or exc.name or fallback
        return f"{_rel(name)}:{exc.lineno}"
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return f"{_rel(frame.filename)}:{frame.lineno}"
    return fallback


def _rel(name: str) -> str:
    name = str(name).replace("\\", "/")
    if "templates/" in name:
        return "templates/" + name.rsplit("templates/", 1)[1]
    return f"templates/{name}"


def render_script(
    lp: LocalizedProduct,
    product: Product,
    market: Market,
    kind: str,
    *,
    brand: str = "default",
    template: str = "default",
    templates_dir: Path | None = None,
) -> Script:
    """The script for one clip: rendered from the first matching template and parsed into sections."""
    root = _templates_dir(templates_dir)
    env = _environment(root.resolve())
    name = find_template(kind, market, brand, root, template)
    versions = template_versions(kind, market, brand, root, template)
    try:
        template = env.get_template(name)
        text = template.render(template_context(lp, product, market, kind, brand))
    except TemplateNotFound as exc:
        raise InputError(f"template not found: {exc.name}", product=product.handle, market=market.code, where=_where(exc, f"templates/{name}")) from exc
    except TemplateError as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise InputError(
            f"template error: {message}", product=product.handle, market=market.code, where=_where(exc, f"templates/{name}")
        ) from exc
    sections = parse_sections(text, where=f"templates/{name}")
    return Script(
        kind=kind,  # type: ignore[arg-type]
        hook=sections.get("hook", ""),
        lines=sections.get("lines", []),
        cta=sections.get("cta", ""),
        steps=sections.get("steps", []),
        voiceover=sections.get("voiceover", ""),
        prompt=sections.get("prompt", ""),
        negative_prompt=sections.get("negative_prompt", ""),
        # The localized text and prices the script was made from count as an input too: a glossary
        # edit, a new exchange rate or an MT model change must change the job key.
        templates={**versions, LOCALIZED_KEY: stable_hash(lp.model_dump(mode="json"))},
    )


def parse_sections(text: str, *, where: str = "template") -> dict[str, Any]:
    """``## name`` sections of a rendered script: lists for lines/steps, joined text otherwise."""
    raw: dict[str, list[str]] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line.strip()) if _OPEN not in line else None
        if header:
            current = header.group(1)
            if current not in SECTIONS:
                raise InputError(f"unknown script section {current!r} (known: {', '.join(SECTIONS)})", where=f"{where} (output line {number})")
            raw.setdefault(current, [])
            continue
        if not _unfence(line).strip():
            continue
        if current is None:
            raise InputError("script text before the first '## section' line", where=f"{where} (output line {number})")
        raw[current].append(line.strip())
    out: dict[str, Any] = {}
    for name, lines in raw.items():
        if name in LIST_SECTIONS:
            # Only a dash the template wrote starts an item; a dash from the catalog is text.
            items = [_unfence(ln[2:] if ln.startswith("- ") else ln).strip() for ln in lines]
            out[name] = [i for i in items if i]
        else:
            joined = re.sub(r"[ \t]{2,}", " ", " ".join(_unfence(ln) for ln in lines))
            # CJK sentences follow each other without spaces.
            out[name] = re.sub(r"(?<=[。！？、，]) +", "", joined).strip()
    return out


def _unfence(text: str) -> str:
    return text.replace(_OPEN, "").replace(_CLOSE, "")
