"""Translation with provenance: catalog translation -> glossary -> machine translation -> source.

Every string keeps where it came from (``LocalizedText.origin``): ``catalog`` (the catalog's own
translation), ``source`` (the catalog's text, when the market reads the catalog's language), ``glossary``
(the seller's translation memory), ``machine`` (a local MT model) or ``fallback`` (left in the
source language, reported as a finding).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from productreel.errors import InputError
from productreel.models import Finding, LocalizedText, Market, Product, Translation

import localization.mt as mt  # a module reference (tests patch it), not the package: its __init__ imports this module
from .glossary import Glossary, load_glossary

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
    mt_model: str | None = None
    glossary: Glossary | None = None
    protected: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)

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
        if pending:
            self._machine(pending, product=product)
        untranslated = [r.field for r in requests if r.result and r.result.origin == "fallback"]
        if untranslated:
            why = "no machine-translation model configured" if not self.mt_model else "machine translation unavailable"
            self.findings.append(
                Finding(
                    rule="L10N-UNTRANSLATED",
                    severity="WARN",
                    message=f"untranslated copy for market {self.market.code}: {', '.join(untranslated)} ({why})",
                    evidence={"fields": untranslated, "language": self.market.language},
                    source=product or "",
                )
            )
        return requests

    def _machine(self, pending: list[Request], *, product: str | None) -> None:
        tgt = self.market.language.lower()
        name = mt.resolve_model(self.mt_model, self.source_language, tgt) if self.mt_model else None
        if name is None:
            key = f"{self.mt_model}:{tgt}" if self.mt_model else ""
            if key not in _said_no_model:  # say it once per process, not once per string
                _said_no_model.add(key)
                # INFO, not WARNING: every affected clip carries an L10N-UNTRANSLATED finding and the
                # run's summary says what to do; a log line in the middle of the progress bar does not.
                if self.mt_model:
                    log.info("no machine-translation model for %s->%s under %s; skipping MT", self.source_language, tgt, self.mt_model)
                else:
                    log.info("no machine-translation model configured (PRODUCTREEL_MT_MODEL); skipping MT")
            for req in pending:
                req.result = LocalizedText(text=req.source, origin="fallback")
            return
        # Split each string into sentences and protected terms; translate only the translatable pieces.
        plans = [self._plan(req.source) for req in pending]
        todo = sorted({piece for plan in plans for piece, translate in plan if translate})
        try:
            done = dict(zip(todo, mt.translate_batch(todo, self.source_language, tgt, name), strict=True))
        except InputError as exc:
            log.warning("machine translation failed: %s", exc)
            self.findings.append(
                Finding(rule="L10N-MT-FAILED", severity="WARN", message=f"machine translation failed: {exc}", source=product or "")
            )
            for req in pending:
                req.result = LocalizedText(text=req.source, origin="fallback")
            return
        for req, plan in zip(pending, plans, strict=True):
            text = "".join(done.get(piece, piece) if translate else piece for piece, translate in plan)
            req.result = LocalizedText(text=_tidy(text), origin="machine")

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
