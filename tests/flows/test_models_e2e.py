"""End to end: tiny random voices and translation models built here, served by the Hub emulator on loopback,
pulled with `productreel models pull`, then used offline through the real loading code: the jp voice and
translation model by their loaders, a de ad through the job (tests/jobs/test_localized_ads_e2e.py renders
de and jp ads from models placed in the cache directly)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.hub_emulator import HubEmulator

ROOT = Path(__file__).resolve().parents[2]
VOICE_FILES = {lang: f"{lang}/{loc}/tiny/medium/{loc}-tiny-medium" for lang, loc in (("de", "de_DE"), ("ja", "ja_JP"))}


def _catalog(folder: Path) -> None:
    folder.mkdir()
    voices = "".join(
        f"""
  - id: tiny-{lang}-voice
    backend: piper
    repo: test-org/tiny-voices
    revision: main
    files: [{path}.onnx, {path}.onnx.json, {path.rsplit('/', 1)[0]}/MODEL_CARD]
    licence: CC0-1.0
    ads: true
    attribution: "Tiny Voice Speaker"
    languages: [{lang}]
    why: "a tiny random {lang} voice"
""" for lang, path in VOICE_FILES.items())
    (folder / "voice.yaml").write_text("models:" + voices, encoding="utf-8")
    mts = "".join(
        f"""
  - id: tiny-opus-mt-en-{tgt}
    backend: marian
    repo: test-org/tiny-opus-mt-en-{tgt}
    revision: main
    licence: CC-BY-4.0
    ads: true
    attribution: "tiny OPUS-MT stand-in"
    languages: [en-{tgt}]
    why: "a tiny random en-{tgt} Marian model"
""" for tgt in ("de", "ja"))
    (folder / "mt.yaml").write_text("models:" + mts, encoding="utf-8")


@pytest.mark.slow
def test_pulled_tiny_models_voice_and_translate_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    from clips.voice_tiny import build_tiny_voice
    from flows.cli import app
    from jobs.job import RunOptions, job_inputs, run_job
    from localization.mt_tiny import TINY_OUTPUT, build_tiny_mt
    from productreel import model_store
    from productreel.models import Job, JobStatus, Product, ProductImage

    _catalog(tmp_path / "catalog")
    monkeypatch.setenv("PRODUCTREEL_MODEL_CATALOG", str(tmp_path / "catalog"))
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "pr-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "PRODUCTREEL_VOICE", "PRODUCTREEL_VOICE_MODEL", "PRODUCTREEL_MT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)

    # The repos the emulator serves: built here by the same saving code as the real checkpoints' layout.
    voices = tmp_path / "repos" / "voices"
    for lang in VOICE_FILES:
        build_tiny_voice(voices, lang, choice=model_store.find("voice", f"tiny-{lang}-voice"))
    for tgt in ("de", "ja"):
        build_tiny_mt(tmp_path / "repos" / f"mt-{tgt}", "en", tgt)

    runner = CliRunner()
    with HubEmulator() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        voice_commit = hub.add_repo("test-org/tiny-voices", voices)
        mt_commits = {tgt: hub.add_repo(f"test-org/tiny-opus-mt-en-{tgt}", tmp_path / "repos" / f"mt-{tgt}") for tgt in ("de", "ja")}
        before = json.loads(runner.invoke(app, ["models", "list", "--markets", "de,jp", "--json"]).stdout)
        assert before["missing"]["voice"]["markets"] == before["missing"]["mt"]["markets"] == ["de", "jp"]
        for kind in ("voice", "mt"):
            res = runner.invoke(app, ["models", "pull", kind, "--markets", "de,jp"])
            assert res.exit_code == 0, res.output
        assert len(hub.served("/api/models/")) >= 4
    # From here on nothing may reach a Hub: the emulator is gone and huggingface_hub is offline again.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")

    after = {r["market"]: r for r in json.loads(runner.invoke(app, ["models", "list", "--markets", "de,jp", "--json"]).stdout)["markets"]}
    for code, lang in (("de", "de"), ("jp", "ja")):
        assert after[code]["voice"]["id"] == f"tiny-{lang}-voice" and after[code]["voice"]["status"] == "downloaded"
        assert after[code]["mt"]["id"] == f"tiny-opus-mt-en-{lang}" and after[code]["mt"]["status"] == "downloaded"

    # The jp models through their loaders: the voice speaks, the translation model translates.
    from clips.audio import speak
    from clips.voices import pick_voice
    from localization import mt
    from localization.markets import get_market

    jp = get_market("jp")
    pick = pick_voice(jp, "ad")
    assert pick.model == model_store.model_ref(model_store.find("voice", "tiny-ja-voice")) and pick.model["revision"] == voice_commit
    speech = speak("今すぐ購入。", pick.voice, 3.0, backend=pick.backend)
    assert speech.samples.size and float(abs(speech.samples).max()) > 0
    model = mt.choose(None, jp, "en")
    assert isinstance(model, mt.MTModel) and (model.id, model.revision) == ("tiny-opus-mt-en-ja", mt_commits["ja"])
    assert mt.translate_batch(["Shop now."], "en", "ja", model.path) == ["".join(TINY_OUTPUT["ja"])]

    # A de ad from an untranslated catalog product, through the job: translated copy, the pulled voice, captions.
    photo = ROOT / "samples" / "images" / "mug-white.jpg"
    product = Product(id="1", handle="ceramic-mug", title="Stoneware Coffee Mug", description="A stoneware mug. It keeps coffee hot.",
                      source="catalog.csv:2", images=[ProductImage(src=str(photo), path=photo)])
    options = RunOptions(out_dir=str(tmp_path / "out"), ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}", profile="tiny")
    inputs = job_inputs(Job(handle="ceramic-mug", market="de", kind="ad", format="9:16"), product, options)
    title = inputs.lp.title
    # The tiny model answers every string with its fixed phrase in the market's language.
    assert title.origin == "machine" and title.text == " ".join(TINY_OUTPUT["de"]), title
    assert (title.model, title.revision) == ("tiny-opus-mt-en-de", mt_commits["de"])
    outcome = run_job(inputs, product, options)
    assert outcome.status is JobStatus.RENDERED, outcome.error or [f.message for f in outcome.findings if f.severity == "BLOCK"]
    assert not [f for f in outcome.findings if f.rule in ("VOICE-1", "LIC-1")], [f.message for f in outcome.findings]
    sidecar = json.loads(Path(outcome.metadata).read_text(encoding="utf-8"))
    (voice,) = [a for a in sidecar["assets"] if a["kind"] == "voice"]
    assert (voice["name"], voice["license"], voice["revision"]) == ("tiny-de-voice", "CC0-1.0", voice_commit)
    assert sidecar["captions"]["cues"] > 0 and Path(outcome.srt).read_text(encoding="utf-8").strip()
