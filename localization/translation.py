"""Translation with provenance: catalog translation -> glossary -> machine translation -> source.

Every string keeps where it came from (``LocalizedText.origin``): ``catalog`` (the catalog's own
translation), ``source`` (the catalog's text, when the market reads the catalog's language), ``glossary``
(the seller's translation memory), ``machine`` (a local MT model, named with its revision in
``LocalizedText.model``/``revision``) or ``fallback`` (left in the source language, reported as a finding).

Machine translation: the model :func:`localization.mt.choose` picks for the market (the seller's
``PRODUCTREEL_MT_MODEL``, else the catalog's OPUS-MT model pulled with ``productreel models pull mt``).
Its translations go through the translation cache (``localization.mt_cache``), so a rerun asks
the model nothing it answered before. Machine-translated copy waits for a person's approval (an
L10N-MT WARN finding) unless the market sets ``machine_translation_needs_approval: false`` (then
it is an INFO finding).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from productreel.errors import InputError
from productreel.models import Finding, LocalizedText, Market, Product, Translation

import localization.mt as mt  # a module reference (tests patch it), not the package: its __init__ imports this module
from .glossary import Glossary, load_glossary
from .mt_cache import TranslationCache

log = logging.getLogger(__name__)
_said_no_model: set[str] = set()

SOURCE_LANGUAGE = "en"


def catalog_translation(product: Product, market: Market) -> Translation | None:
    """The catalog's translation for the market's locale: exact tag first, then the language."""
    if not product.translations:
        return None
    table = {k.replace("_", "-").lower(): v for k, v in product.translations.items()}
    loc = market.locale.lower()
    parts = loc.split("-")
    # zh-Hans-CN: try the full tag, the tag without region, language-region, then the language.
    candidates = [loc, "-".join(parts[:2]), f"{parts[0]}-{parts[-1]}", parts[0]]
    for key in candidates:
        if key in table:
            return table[key]
    return None


@dataclass
class Request:
    """One string to localize: its field name, source text and the catalog's translation if any."""

    field: str
    source: str
    catalog: str | None = None
    result: LocalizedText | None = None


@dataclass
class Translator:
    """Runs the chain for one market; collects findings."""

    market: Market
    source_language: str = SOURCE_LANGUAGE
    mt_model: str | None = None  # Settings.mt_model; None: the model catalog's choice in the local cache
    glossary: Glossary | None = None
    protected: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    cache_dir: Path | None = None  # where the translation cache lives (Settings.cache_dir); None: no cache
    model: mt.MTModel | mt.NoModel | None = None  # the model chosen, once asked

    def __post_init__(self) -> None:
        if self.glossary is None:
            self.glossary = load_glossary(self.market.locale)
        self.protected = {t for t in (self.protected | self.glossary.protected) if t.strip()}

    @property
    def same_language(self) -> bool:
        """True when the market reads the catalog's language (no translation needed)."""
        return self.market.language.lower() == self.source_language.lower()

    def run(self, requests: list[Request], *, product: str | None = None) -> list[Request]:
        """Fill ``request.result`` for each request, batching the machine-translation step."""
        pending: list[Request] = []
        for req in requests:
            if not req.source.strip() and not (req.catalog or "").strip():
                req.result = LocalizedText(text="", origin="catalog")
            elif req.catalog and req.catalog.strip():
                req.result = LocalizedText(text=req.catalog, origin="catalog")
            elif self.same_language:
                req.result = LocalizedText(text=req.source, origin="source")
            elif (hit := self.glossary.lookup(req.source)) is not None:
                req.result = LocalizedText(text=hit, origin="glossary")
            elif self.glossary.memory and (hit := self.glossary.lookup_segments(req.source)) is not None:
                req.result = LocalizedText(text=hit, origin="glossary")
            elif req.source.strip() in self.protected:
                req.result = LocalizedText(text=req.source, origin="glossary")
            else:
                pending.append(req)
        why = ""
        if pending:
            why = self._machine(pending, product=product)
        untranslated = [r.field for r in requests if r.result and r.result.origin == "fallback"]
        if untranslated:
            self.findings.append(
                Finding(
                    rule="L10N-UNTRANSLATED",
                    severity="WARN",
                    message=f"untranslated copy for market {self.market.code}: {', '.join(untranslated)} ({why})",
                    evidence={"fields": untranslated, "language": self.market.language, "market": self.market.code,
                              "reason": why},
                    source=product or "",
                )
            )
        machine = [r.field for r in requests if r.result and r.result.origin == "machine"]
        if machine and isinstance(self.model, mt.MTModel):
            self.findings.append(self._machine_finding(machine, product))
        return requests

    def choose_model(self) -> mt.MTModel | mt.NoModel:
        """The model this market's copy is translated with, or why there is none (asked once)."""
        if self.model is None:
            self.model = mt.choose(self.mt_model, self.market, self.source_language)
        return self.model

    def _machine(self, pending: list[Request], *, product: str | None) -> str:
        """Translate ``pending`` with the market's model; return why not, when the copy stays as written."""
        tgt = self.market.language.lower()
        model = self.choose_model()
        if isinstance(model, mt.NoModel):
            key = f"{self.mt_model}:{tgt}" if self.mt_model or model.refused or model.failed else ""
            if key not in _said_no_model:  # say it once per process, not once per string
                _said_no_model.add(key)
                # INFO, not WARNING, for a model not pulled: every affected clip carries an L10N-UNTRANSLATED
                # finding and the run's summary says what to do; a refused or broken model is a WARNING.
                log.log(logging.WARNING if model.refused or model.failed else logging.INFO, "%s; skipping MT", model.reason)
            for req in pending:
                req.result = LocalizedText(text=req.source, origin="fallback")
            return model.reason
        # Split each string into sentences and protected terms; translate only the translatable pieces.
        plans = [self._plan(req.source) for req in pending]
        todo = sorted({piece for plan in plans for piece, translate in plan if translate})
        # A sentence the glossary remembers keeps the seller's wording inside machine-translated copy.
        remembered = {piece: hit for piece in todo if (hit := self.glossary.lookup_sentence(piece)) is not None}
        todo = [piece for piece in todo if piece not in remembered]
        cache = TranslationCache.in_folder(self.cache_dir) if self.cache_dir else None
        key = (self.source_language, tgt, model.id, model.revision)
        done = cache.get_many(todo, *key) if cache else {}
        missing = [piece for piece in todo if piece not in done]
        try:
            made = dict(zip(missing, mt.translate_batch(missing, self.source_language, tgt, model.path), strict=True)) if missing else {}
        except InputError as exc:
            log.warning("machine translation failed: %s", exc)
            self.findings.append(
                Finding(rule="L10N-MT-FAILED", severity="WARN", message=f"machine translation failed: {exc}", source=product or "")
            )
            for req in pending:
                req.result = LocalizedText(text=req.source, origin="fallback")
            return f"machine translation failed: {exc}"
        if cache and made:
            cache.put_many(made, *key)
        done.update(made)
        done.update(remembered)
        for req, plan in zip(pending, plans, strict=True):
            text = "".join(done.get(piece, piece) if translate else piece for piece, translate in plan)
            req.result = LocalizedText(text=_tidy(text), origin="machine", model=model.id, revision=model.revision)
        return ""

    def _machine_finding(self, fields: list[str], product: str | None) -> Finding:
        """L10N-MT: which strings a model wrote, which model; a WARN (a person approves) unless the market waives it."""
        model = self.model
        assert isinstance(model, mt.MTModel)
        needs = needs_approval(self.market)
        named = f"{model.id}@{model.revision[:12]}" + (f", {model.licence}" if model.licence else "")
        tail = "waits for a person's approval" if needs else "needs no approval in this market (machine_translation_needs_approval: false)"
        return Finding(
            rule="L10N-MT",
            severity="WARN" if needs else "INFO",
            message=f"machine-translated copy for market {self.market.code} ({named}): {', '.join(fields)}; {tail}",
            evidence={"fields": fields, "model": model.id, "revision": model.revision, "licence": model.licence,
                      "attribution": model.attribution, "repo": model.repo, "language": self.market.language},
            source=product or "",
        )

    def _plan(self, text: str) -> list[tuple[str, bool]]:
        """``text`` cut into (piece, translate?) pieces: protected terms and whitespace stay as written."""
        pieces: list[tuple[str, bool]] = []
        terms = sorted(self.protected, key=len, reverse=True)
        pattern = re.compile("|".join(rf"(?<!\w){re.escape(t)}(?!\w)" for t in terms)) if terms else None
        pos = 0
        for match in pattern.finditer(text) if pattern else []:
            pieces += _sentences(text[pos : match.start()])
            pieces.append((match.group(0), False))
            pos = match.end()
        pieces += _sentences(text[pos:])
        return pieces


_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+")


def _sentences(text: str) -> list[tuple[str, bool]]:
    """Sentences to translate, with the spaces around them kept as they were."""
    out: list[tuple[str, bool]] = []
    for i, part in enumerate(_SENTENCE.split(text)):
        if i:
            out.append((" ", False))
        lead = part[: len(part) - len(part.lstrip())]
        trail = part[len(part.rstrip()) :]
        core = part.strip()
        if lead:
            out.append((lead, False))
        if core:
            # Pieces with no letters (numbers, punctuation) need no model.
            out.append((core, any(ch.isalpha() for ch in core)))
        if trail:
            out.append((trail, False))
    return out


def _tidy(text: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def needs_approval(market: Market) -> bool:
    """Whether machine-translated copy in ``market`` waits for a person (``machine_translation_needs_approval``, default true)."""
    value = getattr(market, "machine_translation_needs_approval", None)
    if value is None:
        return True
    if not isinstance(value, bool):
        raise InputError(f"machine_translation_needs_approval must be true or false, not {value!r}", market=market.code,
                         where=f"market {market.code}")
    return value


def translation_assets(findings: list[Finding]) -> list[dict]:
    """The translation models that wrote a clip's copy, as asset-manifest entries (LIC-1, the C2PA assertion).

    One per model and revision, from the L10N-MT findings: name, repo, revision, licence and the
    attribution CC-BY asks for. A seller's own model folder without a model card names no licence and
    is left out (LIC-1 would hold every clip for it); its origin is still on every string.
    """
    out: dict[tuple[str, str], dict] = {}
    for f in findings:
        ev = f.evidence or {}
        if f.rule != "L10N-MT" or not ev.get("licence"):
            continue
        entry = {"kind": "translation_model", "name": ev.get("model"), "source": ev.get("repo") or ev.get("model"),
                 "license": ev.get("licence"), "owner": ev.get("attribution") or ev.get("repo") or ev.get("model"),
                 "repo": ev.get("repo") or None, "revision": ev.get("revision"), "attribution": ev.get("attribution"),
                 "relationship": "inputTo"}
        out[(str(ev.get("model")), str(ev.get("revision")))] = {k: v for k, v in entry.items() if v}
    return list(out.values())
