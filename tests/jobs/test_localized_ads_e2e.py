"""End to end: an untranslated catalog becomes a de and a jp ad with machine-translated copy, a neural voice and captions.

A tiny random MarianMT per language (localization/mt_tiny.py) and a tiny random Piper voice
(clips/voice_tiny.py) lie in a local Hugging Face cache as `productreel models pull` leaves them;
`productreel run` finds them through the model catalog, with nothing downloaded. The summary and the
review page say where every string came from; the asset manifest names the voice and its licence.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
COMMITS = {"mt-de": "1" * 40, "mt-ja": "2" * 40, "voice": "3" * 40}
VOICES = {"de": "de/de_DE/tiny/medium/de_DE-tiny-medium", "ja": "ja/ja_JP/tiny/medium/ja_JP-tiny-medium"}


def _catalogs(folder: Path, mt_files: list[str]) -> None:
    """Model catalogs naming only the tiny models (pinned to commits, as the shipped ones are)."""
    folder.mkdir(parents=True)
    voices = [{"id": f"tiny-{lang}-voice", "backend": "piper", "repo": "test-org/tiny-voices", "revision": COMMITS["voice"],
               "files": [f"{path}.onnx", f"{path}.onnx.json", f"{path.rsplit('/', 1)[0]}/MODEL_CARD"],
               "licence": "CC0-1.0", "ads": True, "attribution": "Tiny Voice Speaker", "languages": [lang],
               "why": f"a tiny random {lang} voice"} for lang, path in VOICES.items()]
    mts = [{"id": f"tiny-opus-mt-en-{tgt}", "backend": "marian", "repo": f"test-org/tiny-opus-mt-en-{tgt}",
            "revision": COMMITS[f"mt-{tgt}"], "files": mt_files, "licence": "CC-BY-4.0", "ads": True,
            "attribution": "tiny OPUS-MT stand-in, CC-BY 4.0", "languages": [f"en-{tgt}"],
            "why": f"a tiny random en-{tgt} Marian model"} for tgt in ("de", "ja")]
    (folder / "voice.yaml").write_text(yaml.safe_dump({"models": voices}, allow_unicode=True), encoding="utf-8")
    (folder / "mt.yaml").write_text(yaml.safe_dump({"models": mts}, allow_unicode=True), encoding="utf-8")


def _untranslated_catalog(path: Path) -> Path:
    """A Shopify export with one product in English only: no translations, no glossary hits for its title."""
    photo = ROOT / "samples" / "images" / "mug-white.jpg"
    rows = [{"Handle": "stoneware-mug", "Title": "Stoneware Coffee Mug", "Vendor": "Fieldhouse",
             "Body (HTML)": "<p>A hand-glazed mug that keeps coffee hot.</p>", "Variant SKU": "MUG-1",
             "Variant Price": "18.00", "Image Src": str(photo), "Image Position": "1", "Status": "active",
             "Price / Germany": "17.90", "Price / Japan": "2400"}]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.slow
def test_de_and_jp_ads_from_an_untranslated_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clips.voice_tiny import build_tiny_voice
    from compliance.provenance import read_manifest
    from flows.cli import app
    from localization import mt
    from localization.mt_tiny import TINY_OUTPUT, build_tiny_mt, place_in_hub_cache, tiny_files
    from productreel import model_store

    hub = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "pr-cache"))
    monkeypatch.setenv("PRODUCTREEL_MODEL_CATALOG", str(tmp_path / "catalog"))
    for name in ("PRODUCTREEL_VOICE", "PRODUCTREEL_VOICE_MODEL", "PRODUCTREEL_MT_MODEL", "PRODUCTREEL_MARKETS_DIR"):
        monkeypatch.delenv(name, raising=False)

    # The models, in the local cache at their pinned commits: what `productreel models pull voice,mt` leaves.
    built = {tgt: build_tiny_mt(tmp_path / "build" / f"mt-{tgt}", "en", tgt) for tgt in ("de", "ja")}
    _catalogs(tmp_path / "catalog", tiny_files(built["de"]))
    for tgt, folder in built.items():
        place_in_hub_cache(folder, f"test-org/tiny-opus-mt-en-{tgt}", COMMITS[f"mt-{tgt}"], hub)
    snapshot = hub / "models--test-org--tiny-voices" / "snapshots" / COMMITS["voice"]
    for lang in VOICES:
        choice = model_store.find("voice", f"tiny-{lang}-voice")
        build_tiny_voice(snapshot, lang, choice=choice)
        assert model_store.local_dir(choice) == snapshot
    for tgt in ("de", "ja"):
        assert model_store.local_dir(model_store.find("mt", f"tiny-opus-mt-en-{tgt}")) is not None

    calls: list[list[str]] = []
    real = mt.translate_batch

    def spy(texts, src, tgt, name, **kw):
        calls.append(list(texts))
        return real(texts, src, tgt, name, **kw)

    monkeypatch.setattr(mt, "translate_batch", spy)
    out = tmp_path / "out"
    args = ["run", "--catalog", str(_untranslated_catalog(tmp_path / "catalog.csv")), "--markets", "de,jp", "--kinds", "ad",
            "--profile", "tiny", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rows = {row["market"]: row for row in summary["jobs"]}
    assert set(rows) == {"de", "jp"}
    for code, lang in (("de", "de"), ("jp", "ja")):
        row = rows[code]
        assert row["status"] == "rendered", row.get("error") or row["findings"]
        phrase = (" " if lang == "de" else "").join(TINY_OUTPUT[lang])
        strings = {s["field"]: s for s in row["strings"]}
        # Localized copy: what the catalog lacks, the market's model wrote, and the summary says so.
        title = strings["title"]
        assert (title["origin"], title["model"], title["revision"]) == ("machine", f"tiny-opus-mt-en-{lang}", COMMITS[f"mt-{lang}"])
        assert title["text"] == phrase and strings["description"]["origin"] == "machine"
        assert strings["cta"]["origin"] == "glossary"  # the market file's own CTA wording
        assert all(s["origin"] in ("machine", "glossary") for s in strings.values())
        # Machine-translated copy waits for a person.
        assert row["needs_approval"] and "L10N-MT" in row["publish"]
        assert not [f for f in row["findings"] if f["rule"] in ("L10N-UNTRANSLATED", "VOICE-1", "LIC-1")], row["findings"]
        # Voice and captions: the neural voice is in the asset manifest with its licence; captions carry the copy.
        sidecar = json.loads(Path(row["metadata"]).read_text(encoding="utf-8"))
        (voice,) = [a for a in sidecar["assets"] if a["kind"] == "voice"]
        assert (voice["name"], voice["license"], voice["revision"]) == (f"tiny-{lang}-voice", "CC0-1.0", COMMITS["voice"])
        # The signed clip's C2PA manifest names the translation model, its licence and attribution (CC-BY).
        active = read_manifest(Path(row["clip"]))
        active = active["manifests"][active["active_manifest"]]
        (listed,) = [a["data"]["assets"] for a in active["assertions"] if a["label"] == "productreel.assets"]
        (model,) = [a for a in listed if a["kind"] == "translation_model"]
        assert (model["name"], model["revision"], model["license"]) == (f"tiny-opus-mt-en-{lang}", COMMITS[f"mt-{lang}"], "CC-BY-4.0")
        assert model["attribution"] == "tiny OPUS-MT stand-in, CC-BY 4.0" and model["repo"] == f"test-org/tiny-opus-mt-en-{lang}"
        captions = Path(row["srt"]).read_text(encoding="utf-8")
        assert captions.strip() and "Stoneware" not in captions and "Shop now" not in captions
        # On screen: the title the model wrote, not the catalog's English.
        shown = " ".join(t for o in sidecar["overlays"] if o["role"] == "title" for t in o["texts"])
        assert TINY_OUTPUT[lang][0] in shown and "Stoneware" not in shown, shown
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "machine (tiny-opus-mt-en-de)" in html and "machine (tiny-opus-mt-en-ja)" in html

    # A rerun translates nothing new and renders nothing: the same copy, the same keys.
    assert calls
    calls.clear()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert calls == []
    rerun = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert rerun["counts"] == {"skipped": 2}
    assert {r["market"]: r["strings"] for r in rerun["jobs"]} == {c: r["strings"] for c, r in rows.items()}
