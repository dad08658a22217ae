"""The seller's glossary / translation memory: localization/glossary/<lang>.po, read with Babel.

A message whose msgid is a whole string is a translation-memory entry; an entry flagged
``#, no-translate`` (or with an empty msgstr and that flag) names a term that is never translated
(brand names, product lines). The product's brand is always protected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import PoFileError, read_po

from productreel.errors import InputError

GLOSSARY_DIR = Path(__file__).resolve().parent / "glossary"
DNT_FLAGS = {"no-translate", "do-not-translate", "dnt"}


@dataclass
class Glossary:
    """Translation memory and protected terms for one language."""

    language: str
    memory: dict[str, str] = field(default_factory=dict)
    protected: set[str] = field(default_factory=set)
    path: Path | None = None
    _normed: dict[str, str] | None = field(default=None, repr=False, compare=False)

    def lookup(self, text: str) -> str | None:
        """The remembered translation of a whole string, matched exactly, then ignoring case and spaces."""
        if text in self.memory:
            return self.memory[text]
        key = _norm(text)
        if self._normed is None:
            self._normed = {_norm(k): v for k, v in self.memory.items()}
        return self._normed.get(key)

    def lookup_sentence(self, sentence: str) -> str | None:
        """One sentence's remembered translation: "Leak-proof lid." is the remembered "Leak-proof lid" plus the language's stop."""
        found = self.lookup(sentence)
        if found is None and sentence[-1:] in ".!?":
            found = self.lookup(sentence[:-1])
            if found is not None and found[-1:] not in _STOPS:
                found += _stop_for(self.language, sentence[-1])
        return found

    def lookup_segments(self, text: str) -> str | None:
        """A translation built from remembered lines and sentences, when every one of them is remembered."""
        from .linebreak import sentences

        out_lines = []
        hits = 0
        for line in text.split("\n"):
            if not line.strip():
                out_lines.append("")
                continue
            hit = self.lookup(line)
            hits += hit is not None
            if hit is None:
                parts = []
                for sentence in sentences(line):
                    found = self.lookup_sentence(sentence)
                    if found is None and any(ch.isalpha() for ch in sentence):
                        return None
                    hits += found is not None
                    parts.append(found if found is not None else sentence)
                hit = _join_sentences(parts)
            out_lines.append(hit)
        return "\n".join(out_lines) if hits else None


_STOPS = ".!?。！？।؟"


def _stop_for(locale: str, mark: str) -> str:
    """The sentence mark ``mark`` as the language writes it."""
    lang = locale.replace("_", "-").split("-")[0].lower()
    if lang in ("zh", "ja"):
        return {".": "。", "!": "！", "?": "？"}[mark]
    if lang == "hi" and mark == ".":
        return "।"
    if lang in ("ar", "fa", "ur") and mark == "?":
        return "؟"
    return mark


def _join_sentences(parts: list[str]) -> str:
    """Sentences joined the way their script writes them: no space after a full-width stop."""
    out = ""
    for part in parts:
        out += part if not out or out[-1] in "。！？" else " " + part
    return out


def _norm(text: str) -> str:
    return re.sub(r"[^\S\u00a0\u202f]+", " ", text).strip().casefold()


def glossary_candidates(locale: str) -> list[str]:
    """File stems to try for a locale, most specific first: ``pt_BR``, ``pt-BR``, ``pt``."""
    parts = locale.replace("_", "-").split("-")
    lang = parts[0].lower()
    out = []
    if len(parts) > 1:
        region = parts[-1]
        out += [f"{lang}_{region}", f"{lang}-{region}"]
    out.append(lang)
    return out


def load_glossary(locale: str, directory: Path | None = None) -> Glossary:
    """The merged glossary for ``locale`` (regional file entries win over the language file)."""
    folder = Path(directory or GLOSSARY_DIR)
    merged = Glossary(language=locale)
    for stem in reversed(glossary_candidates(locale)):
        path = folder / f"{stem}.po"
        if path.is_file():
            one = _read(path.resolve(), path.stat().st_mtime_ns)
            merged.memory.update(one.memory)
            merged._normed = None
            merged.protected |= one.protected
            merged.path = path
    return merged


@lru_cache(maxsize=32)
def _read(path: Path, _stamp: int) -> Glossary:
    try:
        with path.open("rb") as fh:
            catalog = read_po(fh, abort_invalid=True)
    except (PoFileError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"glossary cannot be read: {exc}", where=str(path)) from exc
    glossary = Glossary(language=str(catalog.locale or path.stem), path=path)
    for message in catalog:
        if not message.id or isinstance(message.id, tuple):
            continue  # the header, and plural entries (not used on screen)
        flags = {f.lower() for f in message.flags}
        if flags & DNT_FLAGS:
            glossary.protected.add(message.id)
            continue
        if message.string and "fuzzy" not in flags:
            glossary.memory[message.id] = message.string
    return glossary
