"""Machine translation from the model catalog: a tiny OPUS-MT-layout model in a local hub cache, the cache, licences, approval."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from localization import localize, mt
from localization.mt_cache import TranslationCache
from localization.mt_tiny import TINY_OUTPUT, build_tiny_mt, place_in_hub_cache, tiny_files
from localization.translation import Request, Translator, needs_approval
from productreel import model_store
from productreel.errors import InputError
from productreel.settings import Settings

COMMIT_DE = "0" * 39 + "1"
COMMIT_JA = "0" * 39 + "2"


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Tiny en->de and en->ja models in the layout of an OPUS-MT snapshot (built once per session)."""
    root = tmp_path_factory.mktemp("tiny-mt")
    return {tgt: build_tiny_mt(root / f"opus-mt-en-{tgt}", "en", tgt) for tgt in ("de", "ja")}


def write_catalog(folder: Path, entries: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mt.yaml").write_text(yaml.safe_dump({"models": entries}, allow_unicode=True), encoding="utf-8")
    return folder


def entry(tgt: str, commit: str, files: list[str], **extra) -> dict:
    return {
        "id": f"tiny-opus-mt-en-{tgt}", "backend": "marian", "repo": f"tiny/opus-mt-en-{tgt}", "revision": commit,
        "files": files, "licence": "CC-BY-4.0", "ads": True, "attribution": "tiny OPUS-MT, CC-BY 4.0",
        "languages": [f"en-{tgt}"], "why": "a tiny random model for tests", **extra,
    }


@pytest.fixture
def pulled(tmp_path: Path, tiny_models, monkeypatch) -> Path:
    """A catalog naming the tiny models, and both of them in the local hub cache as a pull leaves them."""
    files = tiny_files(tiny_models["de"])
    catalog = write_catalog(tmp_path / "catalog", [entry("de", COMMIT_DE, files), entry("ja", COMMIT_JA, files)])
    monkeypatch.setenv("PRODUCTREEL_MODEL_CATALOG", str(catalog))
    hub = Path(os.environ["HF_HUB_CACHE"])
    place_in_hub_cache(tiny_models["de"], "tiny/opus-mt-en-de", COMMIT_DE, hub)
    place_in_hub_cache(tiny_models["ja"], "tiny/opus-mt-en-ja", COMMIT_JA, hub)
    return hub


def test_the_tiny_model_has_the_hub_layout_and_loads_with_the_real_code(tiny_models):
    folder = tiny_models["de"]
    assert {"config.json", "model.safetensors", "source.spm", "target.spm", "vocab.json", "tokenizer_config.json"} <= set(
        tiny_files(folder))
    model, tokenizer, kind = mt.load_model(str(folder))
    assert kind == "marian" and type(tokenizer).__name__ == "MarianTokenizer"
    out = mt.translate_batch(["A ceramic mug for coffee.", "Shop now"], "en", "de", str(folder))
    assert out == [" ".join(TINY_OUTPUT["de"])] * 2
    assert mt.translate_batch(["Shop now"], "en", "ja", str(tiny_models["ja"])) == ["機械翻訳"]


def test_the_shipped_catalog_recommends_a_commercially_usable_model_per_language(markets):
    choices = {code: model_store.recommended("mt", m) for code, m in markets.items()}
    assert choices["us"] is None and choices["gb"] is None  # English markets need no translation
    for code in ("de", "fr", "ca-fr", "es", "mx", "it", "nl", "br", "jp", "kr", "cn", "in", "sa"):
        choice = choices[code]
        assert choice is not None and choice.ads and choice.backend == "marian", code
        assert choice.pinned and choice.attribution and "Helsinki" in choice.attribution, code
        assert set(choice.files) >= {"config.json", "source.spm", "target.spm", "vocab.json"}, code
    nllb = model_store.find("mt", "nllb-200-distilled-600m")
    assert nllb is not None and nllb.ads is False and nllb.licence == "CC-BY-NC-4.0"


def test_a_pulled_catalog_model_translates_and_every_string_names_it(product, markets, tmp_path, pulled):
    lp = localize(product, markets["de"], settings=Settings(out_dir=tmp_path))
    assert lp.title.origin == "machine" and lp.title.model == "tiny-opus-mt-en-de" and lp.title.revision == COMMIT_DE
    assert lp.title.text == "Acme Maschinell übersetzt"  # the brand is never sent to the model
    assert lp.features[0].origin == "glossary"  # the seller's glossary still comes first
    assert not [f for f in lp.findings if f.rule == "L10N-UNTRANSLATED"]
    finding = next(f for f in lp.findings if f.rule == "L10N-MT")
    assert finding.severity == "WARN" and "waits for a person's approval" in finding.message
    assert finding.evidence["model"] == "tiny-opus-mt-en-de" and finding.evidence["attribution"] == "tiny OPUS-MT, CC-BY 4.0"
    strings = {s.field: s for s in lp.strings()}
    assert strings["title"].origin == "machine" and strings["features[0]"].origin == "glossary"
    ja = localize(product, markets["jp"], settings=Settings(out_dir=tmp_path))
    assert ja.title.text == "Acme 機械翻訳" and ja.cta.origin in ("glossary", "machine")


def test_a_rerun_asks_the_model_nothing(product, markets, tmp_path, pulled, monkeypatch):
    calls: list[list[str]] = []
    real = mt.translate_batch

    def spy(texts, src, tgt, name, **kw):
        calls.append(list(texts))
        return real(texts, src, tgt, name, **kw)

    monkeypatch.setattr(mt, "translate_batch", spy)
    settings = Settings(out_dir=tmp_path)
    first = localize(product, markets["de"], settings=settings)
    assert len(calls) == 1 and calls[0]
    cache = TranslationCache.in_folder(settings.cache_dir)
    assert cache.count() == len(calls[0])
    calls.clear()
    second = localize(product, markets["de"], settings=Settings(out_dir=tmp_path))
    assert calls == []  # everything came from the cache
    assert second.model_dump() == first.model_dump()
    # Another revision of the model is another key: translated afresh.
    again = Translator(markets["de"], cache_dir=settings.cache_dir)
    again.model = mt.MTModel(path=str(pulled / "models--tiny--opus-mt-en-de" / "snapshots" / COMMIT_DE),
                             id="tiny-opus-mt-en-de", revision="f" * 40)
    again.run([Request("title", product.title)])
    assert len(calls) == 1


def test_without_a_pulled_model_the_copy_stays_with_a_hint(product, markets, tmp_path, tiny_models, monkeypatch):
    files = tiny_files(tiny_models["de"])
    monkeypatch.setenv("PRODUCTREEL_MODEL_CATALOG", str(write_catalog(tmp_path / "catalog", [entry("de", COMMIT_DE, files)])))
    lp = localize(product, markets["de"], settings=Settings(out_dir=tmp_path))
    assert lp.title.origin == "fallback"
    finding = next(f for f in lp.findings if f.rule == "L10N-UNTRANSLATED")
    assert "productreel models pull mt --markets de" in finding.message and finding.severity == "WARN"
    assert not [f for f in lp.findings if f.rule == "L10N-MT"]


def test_a_model_that_differs_from_its_pin_is_not_used(product, markets, tmp_path, tiny_models, monkeypatch):
    files = tiny_files(tiny_models["de"])
    bad = entry("de", COMMIT_DE, files, sha256={"config.json": "0" * 64})
    monkeypatch.setenv("PRODUCTREEL_MODEL_CATALOG", str(write_catalog(tmp_path / "catalog", [bad])))
    place_in_hub_cache(tiny_models["de"], "tiny/opus-mt-en-de", COMMIT_DE, Path(os.environ["HF_HUB_CACHE"]))
    lp = localize(product, markets["de"], settings=Settings(out_dir=tmp_path))
    assert lp.title.origin == "fallback"
    finding = next(f for f in lp.findings if f.rule == "L10N-UNTRANSLATED")
    assert "sha256" in finding.message and "tiny-opus-mt-en-de" in finding.message


def test_nllb_is_refused_for_ads_by_name_and_licence(product, markets, tmp_path, tiny_nllb_model):
    # An explicit PRODUCTREEL_MT_MODEL pointing at an NLLB checkpoint (its FLORES-200 codes tell).
    assert mt.is_nllb(str(tiny_nllb_model))
    lp = localize(product, markets["de"], settings=Settings(out_dir=tmp_path, mt_model=str(tiny_nllb_model)))
    assert lp.title.origin == "fallback"
    message = next(f for f in lp.findings if f.rule == "L10N-UNTRANSLATED").message
    assert "NLLB-200" in message and "CC-BY-NC-4.0" in message and "ads" in message
    # The catalog's NLLB entry, named by its id.
    refused = mt.choose("nllb-200-distilled-600m", markets["de"], "en")
    assert isinstance(refused, mt.NoModel) and refused.refused
    assert "nllb-200-distilled-600m" in refused.reason and "CC-BY-NC-4.0" in refused.reason


def test_a_model_card_with_a_non_commercial_licence_is_refused(tmp_path, tiny_models, markets):
    folder = tmp_path / "my-model"
    import shutil

    shutil.copytree(tiny_models["de"], folder)
    (folder / "README.md").write_text("---\nlicense: cc-by-nc-sa-4.0\n---\n# my model\n", encoding="utf-8")
    refused = mt.choose(str(folder), markets["de"], "en")
    assert isinstance(refused, mt.NoModel) and "cc-by-nc-sa-4.0" in refused.reason and "my-model" in refused.reason
    ok = mt.choose(str(tiny_models["de"]), markets["de"], "en")
    assert isinstance(ok, mt.MTModel) and ok.licence == "cc-by-4.0" and ok.revision.startswith("local-")


def test_a_market_may_waive_the_approval_of_machine_translations(product, markets, tmp_path, pulled):
    waived = markets["de"].model_copy(update={"machine_translation_needs_approval": False})
    assert needs_approval(markets["de"]) and not needs_approval(waived)
    lp = localize(product, waived, settings=Settings(out_dir=tmp_path))
    finding = next(f for f in lp.findings if f.rule == "L10N-MT")
    assert finding.severity == "INFO" and "machine_translation_needs_approval: false" in finding.message
    with pytest.raises(InputError, match="true or false"):
        needs_approval(markets["de"].model_copy(update={"machine_translation_needs_approval": "no"}))


def test_the_setting_is_read_from_a_market_file(tmp_path, markets):
    from localization.markets import load_markets

    folder = tmp_path / "markets"
    folder.mkdir()
    data = markets["de"].model_dump(mode="json") | {"machine_translation_needs_approval": False}
    (folder / "de.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert needs_approval(load_markets(folder)["de"]) is False


def test_multi_target_models_get_their_language_token(tiny_models, monkeypatch):
    model, tokenizer, _ = mt.load_model(str(tiny_models["ja"]))
    seen: list[str] = []
    real = type(tokenizer).__call__

    def spy(self, texts, *args, **kwargs):
        seen.extend(texts)
        return real(self, texts, *args, **kwargs)

    monkeypatch.setattr(type(tokenizer), "__call__", spy)
    monkeypatch.setitem(tokenizer.encoder, ">>jpn<<", tokenizer.encoder["<unk>"])  # as a Tatoeba en-ja vocabulary has
    mt.translate_batch(["Shop now"], "en", "ja", str(tiny_models["ja"]))
    assert seen == [">>jpn<< Shop now"]
    assert mt.TARGET_TOKENS["zh"][0] == ">>cmn_Hans<<" and mt.TARGET_TOKENS["ar"][0] == ">>ara<<"


def test_the_cache_survives_a_damaged_file(tmp_path, caplog):
    path = tmp_path / "translations.sqlite"
    path.write_bytes(b"not a database" * 100)
    cache = TranslationCache(path)
    assert cache.get_many(["a"], "en", "de", "m", "r") == {}
    cache.put_many({"a": "b"}, "en", "de", "m", "r")  # said once, never raised
    assert "cannot be used" in caplog.text


def test_summary_json_rows_keep_the_strings(tmp_path, product, markets, pulled):
    from jobs.outputs import write_outputs
    from productreel.models import JobOutcome, JobStatus

    lp = localize(product, markets["de"], settings=Settings(out_dir=tmp_path))
    outcome = JobOutcome(handle=product.handle, market="de", kind="ad", format="9:16", status=JobStatus.RENDERED,
                         strings=lp.strings())
    data = write_outputs(tmp_path, [outcome], 1.0)
    row = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["jobs"][0]
    assert row == data["jobs"][0]
    title = next(s for s in row["strings"] if s["field"] == "title")
    assert (title["origin"], title["model"], title["revision"]) == ("machine", "tiny-opus-mt-en-de", COMMIT_DE)
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "machine (tiny-opus-mt-en-de)" in html and "glossary" in html and "Maschinell übersetzt" in html


def test_a_seller_turns_approval_off_per_market_in_the_overrides_file(tmp_path, monkeypatch, product, pulled):
    from localization.markets import get_market, load_markets

    overrides = tmp_path / "markets.yaml"
    overrides.write_text("de:\n  machine_translation_needs_approval: false\n", encoding="utf-8")
    monkeypatch.setenv("PRODUCTREEL_MARKET_OVERRIDES", str(overrides))
    markets = load_markets()
    assert needs_approval(markets["de"]) is False and needs_approval(markets["jp"]) is True
    assert markets["de"].currency == "EUR"  # everything else comes from the market file
    lp = localize(product, get_market("de"), settings=Settings(out_dir=tmp_path))
    assert next(f for f in lp.findings if f.rule == "L10N-MT").severity == "INFO"
    # Bad overrides: one line naming the file.
    for text, message in (("xx:\n  cta: Hi\n", "unknown market 'xx'"), ("de: [1]\n", "must map market codes"),
                          ("de:\n  machine_translation_needs_approval: nope\n", "must be true or false"),
                          ("de:\n  currency: 5\n", "market de field currency")):
        overrides.write_text(text, encoding="utf-8")
        os.utime(overrides, ns=(overrides.stat().st_mtime_ns + 10**9,) * 2)
        with pytest.raises(InputError, match=message) as err:
            load_markets()
        assert str(overrides) in str(err.value) or err.value.where == str(overrides)


def test_a_catalog_model_may_be_named_by_its_id(product, markets, tmp_path, pulled):
    lp = localize(product, markets["de"], settings=Settings(out_dir=tmp_path, mt_model="tiny-opus-mt-en-de"))
    assert (lp.title.origin, lp.title.model, lp.title.revision) == ("machine", "tiny-opus-mt-en-de", COMMIT_DE)
    # An id for another pair is no model for this market: the copy stays, saying why.
    jp = localize(product, markets["jp"], settings=Settings(out_dir=tmp_path, mt_model="tiny-opus-mt-en-de"))
    assert jp.title.origin == "fallback"


def test_the_translation_model_is_an_asset_of_the_clip(product, markets, tmp_path, pulled):
    from localization.translation import translation_assets

    lp = localize(product, markets["de"], settings=Settings(out_dir=tmp_path))
    (asset,) = translation_assets(lp.findings + lp.findings)  # one entry per model and revision
    assert asset == {"kind": "translation_model", "name": "tiny-opus-mt-en-de", "source": "tiny/opus-mt-en-de",
                     "license": "CC-BY-4.0", "owner": "tiny OPUS-MT, CC-BY 4.0", "repo": "tiny/opus-mt-en-de",
                     "revision": COMMIT_DE, "attribution": "tiny OPUS-MT, CC-BY 4.0", "relationship": "inputTo"}
    # A seller's own model folder: its model card's licence is recorded; without a card there is no licence to
    # record, so no manifest entry (LIC-1 would hold every clip for it), while every string still names the model.
    import shutil

    own = tmp_path / "own-model"
    shutil.copytree(pulled / "models--tiny--opus-mt-en-de" / "snapshots" / COMMIT_DE, own)
    with_card = localize(product, markets["de"], settings=Settings(out_dir=tmp_path, mt_model=str(own)))
    assert translation_assets(with_card.findings)[0]["license"] == "cc-by-4.0"
    (own / "README.md").unlink()
    bare = localize(product, markets["de"], settings=Settings(out_dir=tmp_path, mt_model=str(own)))
    assert bare.title.origin == "machine" and bare.title.model == "own-model" and translation_assets(bare.findings) == []


def test_sentences_the_glossary_remembers_stay_the_sellers_inside_machine_copy(product, markets, tmp_path, pulled, monkeypatch):
    calls: list[list[str]] = []
    real = mt.translate_batch
    monkeypatch.setattr(mt, "translate_batch", lambda texts, *a, **kw: calls.append(list(texts)) or real(texts, *a, **kw))
    product.description = "Leak-proof lid. Keeps coffee hot for six hours."
    lp = localize(product, markets["de"], settings=Settings(out_dir=tmp_path))
    # localization/glossary/de.po: "Leak-proof lid" -> "Auslaufsicherer Deckel"; the other sentence is the model's.
    assert (lp.description.text, lp.description.origin) == ("Auslaufsicherer Deckel. Maschinell übersetzt", "machine")
    assert not any("Leak-proof lid." in t for batch in calls for t in batch)


def test_a_hub_id_in_the_local_cache_is_pinned_to_its_snapshot(markets, pulled):
    chosen = mt.choose("tiny/opus-mt-en-de", markets["de"], "en")
    assert isinstance(chosen, mt.MTModel) and chosen.path == str(pulled / "models--tiny--opus-mt-en-de" / "snapshots" / COMMIT_DE)
    assert (chosen.id, chosen.revision, chosen.licence) == ("tiny/opus-mt-en-de", COMMIT_DE, "cc-by-4.0")
    assert mt.translate_batch(["Shop now"], "en", "de", chosen.path) == ["Maschinell übersetzt"]
    missing = mt.choose("tiny/opus-mt-en-fr", markets["fr"], "en")
    assert isinstance(missing, mt.NoModel) and "under tiny/opus-mt-en-fr" in missing.reason
