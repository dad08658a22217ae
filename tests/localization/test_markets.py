"""Market files: every required market loads with the fields the other stages rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from localization.markets import format_markets_table, get_market, get_markets, load_markets, market_for_catalog_name, markets_table
from productreel.errors import InputError

REQUIRED = ["us", "ca", "ca-fr", "gb", "de", "fr", "es", "it", "nl", "br", "mx", "jp", "cn", "kr", "sa", "in"]


def test_all_required_markets_load_with_core_fields(markets):
    assert set(REQUIRED) <= set(markets)
    for code in REQUIRED:
        market = markets[code]
        assert market.locale and market.currency and market.fonts and market.voice, code
        assert market.ai_label and market.ad_label and market.cta, code
        assert market.caption_chars_per_line > 0 and market.caption_chars_per_second > 0, code


def test_market_facts_follow_the_rulebook(markets):
    assert markets["de"].tax_inclusive and markets["de"].tax_label == "inkl. MwSt." and markets["de"].eu
    assert markets["de"].ai_label == "KI-generiert" and markets["de"].ad_label == "Anzeige"
    assert markets["us"].measurement == "imperial" and not markets["us"].tax_inclusive
    assert markets["jp"].tax_label == "税込" and markets["jp"].ai_label == "AI生成"
    assert (markets["jp"].caption_chars_per_line, markets["jp"].caption_chars_per_second) == (13, 4)
    assert (markets["cn"].caption_chars_per_line, markets["cn"].caption_chars_per_second) == (16, 9)
    assert markets["sa"].rtl and markets["sa"].language == "ar"
    assert markets["in"].locale == "hi-IN"
    assert markets["fr"].ai_label == "Généré par IA" and markets["br"].ai_label == "Gerado por IA"
    assert all(markets[c].prior_price_label for c in REQUIRED if markets[c].eu)


def test_get_market_is_case_insensitive_and_unknown_lists_known_codes():
    assert get_market("DE").code == "de"
    with pytest.raises(InputError) as info:
        get_market("xx")
    assert "unknown market 'xx'" in str(info.value) and "de, es" in str(info.value)


def test_get_markets_reads_a_comma_list():
    assert [m.code for m in get_markets("sa, in,cn")] == ["sa", "in", "cn"]


def test_catalog_market_names_map_to_markets():
    assert [m.code for m in market_for_catalog_name("Germany")] == ["de"]
    assert {m.code for m in market_for_catalog_name("canada")} == {"ca", "ca-fr"}


def test_markets_table_has_one_row_per_market(markets):
    rows = markets_table()
    assert [r["code"] for r in rows] == list(markets)
    text = format_markets_table()
    assert "inkl. MwSt." in text and "ar-SA (RTL)" in text


def test_a_bad_market_file_names_the_file(tmp_path: Path):
    (tmp_path / "zz.yaml").write_text("code: zz\nname: Z\nlocale: en-US\nlanguage: en\ncurrency: USD\nmeasurement: cubits\n")
    with pytest.raises(InputError) as info:
        load_markets(tmp_path)
    assert "zz.yaml" in str(info.value) and "measurement" in str(info.value)


def test_an_edited_market_file_is_read_again(tmp_path: Path):
    path = tmp_path / "zz.yaml"
    path.write_text("name: Z\nlocale: en-US\nlanguage: en\ncurrency: USD\n")
    assert load_markets(tmp_path)["zz"].currency == "USD"
    path.write_text("name: Z\nlocale: en-GB\nlanguage: en\ncurrency: GBP\n")
    import os

    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    assert load_markets(tmp_path)["zz"].currency == "GBP"


def test_the_markets_folder_comes_from_settings(tmp_path: Path, monkeypatch):
    (tmp_path / "zz.yaml").write_text("name: Z\nlocale: en-US\nlanguage: en\ncurrency: USD\n")
    monkeypatch.setenv("PRODUCTREEL_MARKETS_DIR", str(tmp_path))
    assert list(load_markets()) == ["zz"]
    assert get_market("zz").name == "Z"
