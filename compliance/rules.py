"""Rules as data: load the YAML rule files (built-in, then the seller's) and pick those for a market and destination.

A rule file is YAML holding either a list of rules or a mapping with any of:

    rules:        [ {id, markets, destinations, inputs, type, pattern|params, severity, effective_from, source}, ... ]
    allow:        [ {rule: CL-CN-1, text: "第一次"} | {rule: CL-CN-1, pattern: "第一(次|步)"} ]
    disable:      [ CL-DE-1 ]                       # rule ids the seller turns off
    destinations: { reels: {...}, tiktok: {...} }   # file-spec and safe-zone profiles (see destinations.yaml)
    licenses:     { defaults: {...}, forbidden: [...] }

Files are read in order: the built-in folder (settings.rules_dir), then every path in
``PRODUCTREEL_SELLER_RULES`` (os.pathsep separated, files or folders), then ``extra``.
A later rule with an existing id replaces the earlier one; ``allow`` entries add up.
"""

from __future__ import annotations

import copy
import os
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from productreel.errors import InputError

BUILTIN_DIR = Path(__file__).resolve().parent / "rules"
DESTINATION_ALIASES = {"meta": "reels", "meta-reels": "reels", "shorts": "youtube-shorts", "amazon-listing": "amazon"}
# The check behind each rule type (compliance.engine); a seller's own rule picks one of these.
# Check functions for rule types beyond the built-in ones: type name -> fn(rule, ctx) -> findings.
# Here, not in engine.py, so reading rules never imports the engine (engine imports this module).
CHECK_TYPES: dict[str, Callable[..., list]] = {}


def register_check(type_name: str, fn: Callable[..., list]) -> None:
    """Add a check function for a rule ``type`` (a seller's plugin may add its own)."""
    CHECK_TYPES[type_name] = fn


RULE_TYPES = {
    "regex_any", "regex_requires", "price_match", "ocr_label", "contrast", "text_size", "safe_zone", "loudness",
    "flashes", "nudity", "caption_layout", "reading_speed", "provenance", "provenance_ai", "aigc_metadata",
    "license", "file_spec", "text_over_product", "text_overlap", "product_size", "empty_band", "caption_numbers",
}
Input = Literal["script", "ocr", "captions", "metadata", "audio", "file", "frames", "assets"]


class Rule(BaseModel):
    """One compliance rule: where it applies, what it reads, how it is checked and how bad a hit is."""

    id: str
    title: str = ""
    markets: list[str] = Field(default_factory=lambda: ["*"])  # codes, "eu", or "*"
    destinations: list[str] = Field(default_factory=lambda: ["*"])
    kinds: list[str] = Field(default_factory=lambda: ["*"])  # clip kinds: ad, tutorial
    inputs: list[Input] = Field(default_factory=list)
    type: str
    pattern: str | None = None
    allow: list[str] = Field(default_factory=list)  # regexes: a hit inside an allowed span is no hit
    params: dict[str, Any] = Field(default_factory=dict)
    severity: Literal["BLOCK", "FIX", "WARN", "INFO"] = "WARN"
    severity_before: Literal["BLOCK", "FIX", "WARN", "INFO"] | None = None  # before effective_from
    effective_from: date | None = None
    source: str = ""
    message: str = ""
    origin: str = ""  # the file it was read from

    def applies(self, market: str, *, eu: bool, destination: str, kind: str | None = None) -> bool:
        """True when this rule covers the market (code or 'eu' group), the destination and clip kind."""
        marks = {m.lower() for m in self.markets}
        market_ok = "*" in marks or market.lower() in marks or (eu and "eu" in marks)
        dests = {d.lower() for d in self.destinations}
        dest_ok = "*" in dests or destination.lower() in dests
        kind_ok = kind is None or "*" in self.kinds or kind in self.kinds
        return market_ok and dest_ok and kind_ok

    def severity_on(self, day: date | None = None) -> str:
        """The severity in force on ``day``: before effective_from a rule may only warn."""
        day = day or date.today()
        if self.effective_from and day < self.effective_from:
            return self.severity_before or "INFO"
        return self.severity


class RuleBook(BaseModel):
    """Every rule, allow-list, destination profile and license policy read from the rule files."""

    rules: dict[str, Rule] = Field(default_factory=dict)
    destinations: dict[str, dict[str, Any]] = Field(default_factory=dict)
    licenses: dict[str, Any] = Field(default_factory=dict)
    files: list[str] = Field(default_factory=list)

    def for_clip(self, market: str, *, eu: bool, destination: str, kind: str | None = None) -> list[Rule]:
        """The rules that apply to one market, destination and clip kind."""
        return [r for r in self.rules.values() if r.applies(market, eu=eu, destination=destination, kind=kind)]

    def get(self, rule_id: str) -> Rule | None:
        """The rule with this id, or None."""
        return self.rules.get(rule_id)

    def profile(self, destination: str) -> dict[str, Any]:
        """The destination's file-spec/safe-zone profile merged over the defaults."""
        name = DESTINATION_ALIASES.get(destination, destination)
        own = self.destinations.get(name)
        if own is None:
            own = self.destinations.get("folder", {})
        return _merge_dict(self.destinations.get("defaults", {}), own)


def _rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
    return [path]


def _seller_paths() -> list[Path]:
    from productreel.settings import get_settings

    raw = get_settings().seller_rules
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


def load_rules(directory: Path | None = None, extra: list[Path] | None = None) -> RuleBook:
    """Read the built-in rule files, then the seller's (env PRODUCTREEL_SELLER_RULES, ``extra``)."""
    if directory is None:
        try:
            from productreel.settings import get_settings

            directory = get_settings().rules_dir
        except Exception:  # settings must never stop a check from running
            directory = BUILTIN_DIR
        if not Path(directory).exists():
            directory = BUILTIN_DIR
    book = RuleBook()
    paths = [Path(directory)] + _seller_paths() + [Path(p) for p in (extra or [])]
    for path in paths:
        if not path.exists():
            raise InputError(f"rules file not found: {path}", where="compliance")
        for file in _rule_files(path):
            _merge_file(book, file)
    return book


# libyaml's parser where PyYAML was built with it: the same safe constructor and resolver on top, so the same
# data, about ten times faster than the pure-Python scanner (0.044 s of every check's CPU for the built-in files).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=64)
def _parse_rules(text: str) -> Any:
    """A rules file's YAML data by its text, parsed once per process (a flow checks many clips with the same rules)."""
    return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader


def _read_rules_file(file: Path) -> Any:
    """A rules file's YAML data; the file is read every time, so an edit is seen at once; each caller gets its own copy."""
    return copy.deepcopy(_parse_rules(file.read_text(encoding="utf-8")))


def _merge_file(book: RuleBook, file: Path) -> None:
    try:
        data = _read_rules_file(file)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read rules: {exc}", where=str(file)) from exc
    if data is None:
        return
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict):
        raise InputError("a rules file holds a list of rules or a mapping with 'rules:'", where=str(file))
    book.files.append(str(file))
    for i, raw in enumerate(data.get("rules") or []):
        try:
            rule = Rule.model_validate({**raw, "origin": str(file)})
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            raise InputError(f"rule {raw.get('id', i)}: {loc}: {first['msg']}", where=str(file)) from exc
        if rule.pattern:
            _compile_or_fail(rule.pattern, rule.id, file)
        for p in rule.params.get("patterns") or []:
            _compile_or_fail(p.get("pattern", ""), rule.id, file)
        if rule.type not in RULE_TYPES and rule.type not in CHECK_TYPES:
            raise InputError(f"rule {rule.id}: unknown type {rule.type!r}; known: {', '.join(sorted(RULE_TYPES | set(CHECK_TYPES)))}", where=str(file))
        if rule.type in ("regex_any", "regex_requires") and not (rule.pattern or rule.params.get("patterns")):
            raise InputError(f"rule {rule.id}: type {rule.type} needs a pattern", where=str(file))
        book.rules[rule.id] = rule
    for entry in data.get("allow") or []:
        rid = entry.get("rule")
        if rid not in book.rules:
            raise InputError(f"allow entry for unknown rule {rid!r}", where=str(file))
        if "pattern" in entry:
            _compile_or_fail(entry["pattern"], rid, file)
            book.rules[rid].allow.append(entry["pattern"])
        elif "text" in entry:
            book.rules[rid].allow.append(re.escape(str(entry["text"])))
        else:
            raise InputError(f"allow entry for {rid} needs 'text' or 'pattern'", where=str(file))
    for rid in data.get("disable") or []:
        book.rules.pop(rid, None)
    for name, prof in (data.get("destinations") or {}).items():
        book.destinations[name] = {**book.destinations.get(name, {}), **(prof or {})}
    lic = data.get("licenses") or {}
    if lic:
        book.licenses = _merge_dict(book.licenses, lic)


def _merge_dict(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge_dict(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _compile_or_fail(pattern: str, rule_id: str, file: Path) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise InputError(f"rule {rule_id}: bad pattern: {exc}", where=str(file)) from exc


def rule_book(rules: RuleBook | list[Rule] | Path | str | None) -> RuleBook:
    """A RuleBook from what a caller passes: None (the built-in rules), a book, a rules path, or a list of rules."""
    if rules is None:
        return load_rules()
    if isinstance(rules, RuleBook):
        return rules
    if isinstance(rules, (str, Path)):
        return load_rules(Path(rules))
    base = load_rules()
    return RuleBook(rules={r.id: r for r in rules}, destinations=base.destinations, licenses=base.licenses)
