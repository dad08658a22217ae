"""Rules as data: every required rule id is in the YAML, and a seller's own file adds rules and allow-list entries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from .helpers import market, text_findings

from compliance.rules import load_rules
from productreel.errors import InputError

REQUIRED = ["CL-CN-1", "CL-CN-3", "CL-EU-1", "CL-EU-2", "CL-DE-1", "CL-US-1", "CL-US-2", "CL-UK-1", "CL-JP-1", "CL-JP-3",
            "CL-BR-1", "CL-AMZ-1", "AI-EU-1", "AI-EU-2", "AI-CN-1", "AI-CN-2", "PROV-1", "LIC-1", "SPEC-1", "AUD-1",
            "ACC-2", "ACC-3", "ACC-4", "ACC-5", "ACC-7", "PRICE-1"]


def test_builtin_rules_have_every_required_id_with_source_and_severity():
    book = load_rules()
    for rid in REQUIRED:
        rule = book.get(rid)
        assert rule is not None, rid
        assert rule.source and rule.severity in ("BLOCK", "FIX", "WARN")
        assert rule.inputs


def test_rules_apply_per_market_group_and_destination():
    book = load_rules()
    de = {r.id for r in book.for_clip("de", eu=True, destination="folder")}
    us = {r.id for r in book.for_clip("us", eu=False, destination="amazon")}
    assert {"CL-EU-1", "CL-DE-1", "AI-EU-2"} <= de and "CL-CN-1" not in de
    assert "CL-AMZ-1" in us and "CL-EU-1" not in us
    assert "CL-AMZ-1" not in {r.id for r in book.for_clip("us", eu=False, destination="folder")}


def test_seller_file_adds_allow_entry_and_own_rule_without_code(tmp_path: Path, monkeypatch):
    seller = tmp_path / "seller.yaml"
    seller.write_text(
        "allow:\n"
        "  - {rule: CL-US-2, text: 'free engraving'}\n"
        "rules:\n"
        "  - id: SELLER-1\n"
        "    markets: [us]\n"
        "    inputs: [script, ocr]\n"
        "    type: regex_any\n"
        "    pattern: 'guaranteed|lifetime warranty'\n"
        "    severity: WARN\n"
        "    source: ACME legal team\n",
        encoding="utf-8",
    )
    assert text_findings("CL-US-2", "us", "Free engraving on every mug")
    monkeypatch.setenv("PRODUCTREEL_SELLER_RULES", str(seller))
    book = load_rules()
    assert text_findings("CL-US-2", "us", "Free engraving on every mug", book=book) == []
    (f,) = text_findings("SELLER-1", "us", "Lifetime warranty included", book=book)
    assert f.severity == "WARN" and f.source == "ACME legal team"


def test_bad_rule_file_is_one_clear_input_error(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: X-1\n    type: regex_any\n    pattern: '(unclosed'\n", encoding="utf-8")
    with pytest.raises(InputError, match="X-1: bad pattern"):
        load_rules(extra=[bad])
    bad.write_text("rules:\n  - id: X-2\n    type: regex_any\n    severity: FATAL\n", encoding="utf-8")
    with pytest.raises(InputError, match="X-2: severity"):
        load_rules(extra=[bad])


def test_rule_only_warns_before_it_takes_effect():
    rule = load_rules().get("CL-EU-3")
    assert rule.severity_on(date(2026, 1, 1)) == "WARN"
    assert rule.severity_on(date(2026, 10, 1)) == "BLOCK"
    assert market("de").eu


@pytest.mark.parametrize("body,match", [("type: regex_anything\n    pattern: x", "unknown type"), ("type: regex_any", "needs a pattern")])
def test_seller_rule_type_is_checked_when_loaded(tmp_path: Path, body, match):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"rules:\n  - id: X-3\n    {body}\n", encoding="utf-8")
    with pytest.raises(InputError, match=match):
        load_rules(extra=[bad])


def test_a_rules_file_parsed_once_is_read_again_when_its_text_changes(tmp_path: Path):
    """Parsed rule files are kept by their text: an edit (even of the same length) is seen by the next load,
    and a caller that changes its book leaves the next caller's alone."""
    seller = tmp_path / "seller.yaml"
    body = "rules:\n  - {id: SELLER-1, markets: [us], inputs: [script], type: regex_any, pattern: 'aaaa', severity: WARN, source: me}\n"
    seller.write_text(body, encoding="utf-8")
    first = load_rules(extra=[seller])
    assert first.get("SELLER-1").pattern == "aaaa"
    first.get("SELLER-1").allow.append("x")
    first.destinations["reels"]["changed"] = True
    seller.write_text(body.replace("aaaa", "bbbb"), encoding="utf-8")
    second = load_rules(extra=[seller])
    assert second.get("SELLER-1").pattern == "bbbb" and second.get("SELLER-1").allow == []
    assert "changed" not in second.destinations["reels"]


def test_the_c_parser_gives_the_python_parsers_data_for_every_builtin_file():
    import yaml

    from compliance.rules import BUILTIN_DIR, _read_rules_file

    for file in sorted(BUILTIN_DIR.glob("*.yaml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        assert _read_rules_file(file) == data and repr(_read_rules_file(file)) == repr(data), file.name
