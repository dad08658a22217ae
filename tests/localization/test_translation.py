"""Translation with provenance: catalog -> glossary -> machine translation -> source (flagged)."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path


from localization import localize
from localization import mt
from localization.glossary import load_glossary
from localization.translation import Request, Translator, catalog_translation
from productreel.settings import Settings

GLOSSARY = """msgid ""
msgstr ""
"Language: de\\n"

#, no-translate
msgid "Travel"
msgstr ""

msgid "Leak-proof lid"
msgstr "Auslaufsicherer Deckel"

#, fuzzy
msgid "Dishwasher safe"
msgstr "Nicht sicher"
"""


def test_same_language_keeps_the_source_text(product, markets, settings):
    lp = localize(product, markets["us"], settings=settings)
    assert lp.title.text == "Acme Travel Mug" and lp.title.origin == "source"
    assert lp.cta.text == "Shop now"
    assert not [f for f in lp.findings if f.rule == "L10N-UNTRANSLATED"]


def test_catalog_translation_first(product, markets, settings):
    lp = localize(product, markets["fr"], settings=settings)
    assert (lp.title.text, lp.title.origin) == ("Mug de voyage Acme", "catalog")
    assert [f.origin for f in lp.features] == ["catalog", "catalog"]
    # Steps have no French translation, no MT model: left in English and reported.
    assert [s.origin for s in lp.steps] == ["fallback", "fallback"]
    finding = next(f for f in lp.findings if f.rule == "L10N-UNTRANSLATED")
    assert "untranslated copy for market fr" in finding.message and "steps[0]" in finding.message


def test_catalog_translation_matches_region_and_language(product, markets):
    assert catalog_translation(product, markets["ca-fr"]).title == "Mug de voyage Acme"
    assert catalog_translation(product, markets["de"]) is None


def test_glossary_before_machine_translation(product, markets, settings):
    lp = localize(product, markets["de"], settings=settings)
    # localization/glossary/de.po has "Leak-proof lid" and "Dishwasher safe".
    assert (lp.features[0].text, lp.features[0].origin) == ("Auslaufsicherer Deckel", "glossary")
    assert (lp.features[1].text, lp.features[1].origin) == ("Spülmaschinenfest", "glossary")
    assert lp.title.origin == "fallback"


def test_glossary_reads_po_flags(tmp_path: Path):
    (tmp_path / "de.po").write_text(GLOSSARY, encoding="utf-8")
    glossary = load_glossary("de-DE", tmp_path)
    assert glossary.lookup("leak-proof  LID") == "Auslaufsicherer Deckel"
    assert glossary.lookup("Dishwasher safe") is None  # fuzzy entries are not trusted
    assert glossary.protected == {"Travel"}


def test_no_model_is_said_once(product, markets, settings, caplog):
    from localization import translation

    translation._said_no_model.clear()
    with caplog.at_level(logging.INFO, logger="localization.translation"):
        localize(product, markets["de"], settings=settings)
        localize(product, markets["jp"], settings=settings)
    assert sum("no machine-translation model" in r.message for r in caplog.records) == 1


def test_machine_translation_with_a_tiny_local_model(product, markets, tmp_path: Path, tiny_mt_model: Path):
    """The real loading code reads a random-weight MarianMT from a local folder (no download)."""
    settings = Settings(out_dir=tmp_path, mt_model=str(tiny_mt_model.parent))  # folder of <src>-<tgt> models
    (tiny_mt_model.parent / "en-de").exists() or (tiny_mt_model.parent / "en-de").symlink_to(tiny_mt_model)
    lp = localize(product, markets["de"], settings=settings)
    assert lp.title.origin == "machine" and lp.description.origin == "machine"
    # The brand is protected: it stays as written, whatever the model makes of the rest.
    assert lp.title.text.startswith("Acme ") and lp.title.text != "Acme Travel Mug"
    assert not [f for f in lp.findings if f.rule == "L10N-UNTRANSLATED"]
    # Glossary hits still win over the model.
    assert lp.features[0].origin == "glossary"
    # What the chain produced is what the model generates for the same input.
    # (A fresh translation cache: a random model's output depends on what else is in its batch.)
    alone = product.model_copy(update={"description": "", "features": [], "steps": []})
    expected = mt.translate_batch(["Travel Mug"], "en", "de", str(tiny_mt_model))[0]
    fresh = settings.model_copy(update={"cache_dir": tmp_path / "fresh-cache"})
    assert localize(alone, markets["de"], settings=fresh).title.text == f"Acme {expected}"


def test_machine_translation_is_batched(markets, tiny_mt_model: Path, monkeypatch):
    calls = []
    real = mt.translate_batch

    def spy(texts, src, tgt, name, **kw):
        calls.append(list(texts))
        return real(texts, src, tgt, name, **kw)

    monkeypatch.setattr(mt, "translate_batch", spy)
    translator = Translator(markets["de"], mt_model=str(tiny_mt_model), protected={"Acme"})
    reqs = translator.run([Request("a", "travel mug. fill the mug"), Request("b", "Acme travel mug"), Request("c", "42")])
    assert len(calls) == 1 and calls[0] == sorted({"travel mug.", "fill the mug", "travel mug"})
    assert [r.result.origin for r in reqs] == ["machine", "machine", "machine"]
    assert reqs[2].result.text == "42"  # nothing to translate in a number


def test_a_missing_model_directory_falls_back_with_a_finding(product, markets, tmp_path: Path):
    settings = Settings(out_dir=tmp_path, mt_model=str(tmp_path / "nowhere"))
    lp = localize(product, markets["jp"], settings=settings)
    assert lp.title.origin == "fallback"
    assert any(f.rule == "L10N-UNTRANSLATED" for f in lp.findings)


def test_resolve_model_patterns(tiny_mt_model: Path):
    assert mt.resolve_model(str(tiny_mt_model), "en", "de") == str(tiny_mt_model)
    assert mt.resolve_model(str(tiny_mt_model.parent / "opus-mt-{src}-{tgt}"), "en", "de") == str(tiny_mt_model)
    assert mt.resolve_model(str(tiny_mt_model.parent), "en", "fr") is None


def test_localized_prices_and_legal_lines(product, markets, settings):
    de = localize(product, markets["de"], settings=settings)
    assert (de.price_text, de.compare_at_text, de.tax_text) == ("44,99\u00a0€", "54,99\u00a0€", "inkl. MwSt.")
    assert de.prior_price_text == "Niedrigster Preis der letzten 30 Tage: 54,99\u00a0€"
    us = localize(product, markets["us"], settings=settings)
    assert (us.price_text, us.tax_text, us.prior_price_text) == ("$49.99", "", None)
    jp = localize(product, markets["jp"], settings=settings)
    assert jp.price_text is None and any(f.rule == "PRICE-MISSING" for f in jp.findings)


def test_converted_price_for_sa(product, markets, tmp_path: Path):
    rates = tmp_path / "rates.csv"
    rates.write_text("from,to,rate\nUSD,SAR,3.75\n")
    settings = Settings(out_dir=tmp_path, exchange_rates=rates)
    lp = localize(product, markets["sa"], settings=settings)
    assert lp.price_amount == Decimal("186.99")
    assert lp.price_text == "\u200f186.99\u00a0ر.س.\u200f"
    native = markets["sa"].model_copy(update={"numbering": "native"})
    assert localize(product, native, settings=settings).price_text == "\u200f١٨٦٫٩٩\u00a0ر.س.\u200f"
    assert lp.cta.text == "تسوق الآن"
    assert any(f.rule == "PRICE-CONVERTED" and f.severity == "WARN" for f in lp.findings)


def test_glossary_builds_a_translation_from_remembered_sentences_and_lines(product, markets, settings):
    product.description = "Leak-proof lid. Hanging hole.\nAbsorbs quickly"
    lp = localize(product, markets["cn"], settings=settings)
    assert (lp.description.text, lp.description.origin) == ("防漏杯盖。悬挂孔。\n快速吸收", "glossary")
    product.description = "Leak-proof lid. Something new."
    assert localize(product, markets["cn"], settings=settings).description.origin == "fallback"


def test_sample_catalog_reads_fully_in_arabic_hindi_and_chinese(sample_catalog, markets, settings):
    from catalog_adapters import open_catalog

    products = list(open_catalog(sample_catalog).products())
    assert products  # the loop below must have something to check
    for item in products:
        for code in ("sa", "in", "cn"):
            lp = localize(item, markets[code], settings=settings)
            assert not [f for f in lp.findings if f.rule == "L10N-UNTRANSLATED"], (item.handle, code)
            assert lp.title.origin == "glossary"


def test_nllb_style_models_force_the_target_language(tiny_nllb_model: Path, monkeypatch):
    path = str(tiny_nllb_model)
    model, tokenizer, kind = mt.load_model(path)
    assert kind == "m2m_100"
    seen = {}
    real = type(model).generate

    def spy(self, *args, **kwargs):
        seen.update(kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(type(model), "generate", spy)
    out = mt.translate_batch(["travel mug", "leak proof lid"], "en", "ja", path)
    assert len(out) == 2 and all(out)
    assert seen["forced_bos_token_id"] == tokenizer.convert_tokens_to_ids("jpn_Jpan")
    assert not any("jpn_Jpan" in text for text in out)  # language codes are special tokens, not text
