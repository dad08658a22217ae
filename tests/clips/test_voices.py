"""Neural voices: Piper's phonemes, the tiny voice through the real loader, which voice a clip gets, its licence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from clips.audio import RATE, EspeakVoice, speak
from clips.voice_tiny import build_tiny_voice
from clips.voices import BOS, EOS, PAD, PiperVoice, find_piper_model, phoneme_ids, phonemize, pick_voice
from productreel.errors import InputError
from productreel.models import Market

pytestmark = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is installed by deploy/system-deps.sh")

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
TINY_PATH = "de/de_DE/tiny/medium/de_DE-tiny-medium"


def _market(code: str = "de", locale: str = "de-DE", voice: str = "de") -> Market:
    return Market(code=code, name=code, locale=locale, language=locale.split("-")[0], currency="EUR", voice=voice)


def _catalog(tmp_path: Path, monkeypatch, *, ads: bool = True, licence: str = "CC0-1.0") -> Path:
    """A voice catalog with one tiny German Piper voice, and an empty Hugging Face cache to put it in."""
    folder = tmp_path / "catalog"
    folder.mkdir(exist_ok=True)
    (folder / "voice.yaml").write_text(
        "models:\n"
        "  - id: piper-de_DE-tiny-medium\n"
        "    backend: piper\n"
        "    repo: test-org/tiny-voices\n"
        f"    revision: {COMMIT}\n"
        f"    files: [{TINY_PATH}.onnx, {TINY_PATH}.onnx.json, de/de_DE/tiny/medium/MODEL_CARD]\n"
        f"    licence: {licence}\n"
        f"    ads: {'true' if ads else 'false'}\n"
        "    attribution: Tiny Voice Speaker\n"
        "    languages: [de, de-de]\n"
        "    why: a tiny random voice for tests\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PRODUCTREEL_MODEL_CATALOG", str(folder))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PRODUCTREEL_VOICE", raising=False)
    monkeypatch.delenv("PRODUCTREEL_VOICE_MODEL", raising=False)
    monkeypatch.delenv("PRODUCTREEL_ALLOW_DOWNLOADS", raising=False)
    return folder


def _pull(tmp_path: Path) -> Path:
    """Put the tiny voice where `models pull` would: the cache's snapshot of the pinned commit."""
    from productreel.model_store import find

    snapshot = tmp_path / "hub" / "models--test-org--tiny-voices" / "snapshots" / COMMIT
    return build_tiny_voice(snapshot, "de", choice=find("voice", "piper-de_DE-tiny-medium"))


# -- Piper's phonemes ----------------------------------------------------------------------------------------------


def test_phonemize_keeps_clause_punctuation_and_splits_sentences():
    sentences = phonemize("Hallo, Welt. Jetzt kaufen!", "de")
    assert len(sentences) == 2
    first, second = ("".join(s) for s in sentences)
    assert first.endswith(".") and ", " in first and second.endswith("!")
    # Decomposed like piper-phonemize: "ç" is "c" and a combining cedilla.
    assert "\u0327" in "".join(phonemize("Ich", "de")[0]) and "ç" not in "".join(phonemize("Ich", "de")[0])


def test_phoneme_ids_put_the_pad_after_each_phoneme_between_bos_and_eos():
    id_map = {PAD: [0], BOS: [1], EOS: [2], "a": [5], "b": [6]}
    assert phoneme_ids(["a", "x", "b"], id_map) == [1, 5, 0, 6, 0, 2]  # "x" is unknown: skipped


# -- the tiny voice through the real loader -------------------------------------------------------------------------


def test_tiny_voice_speaks_a_sentence_through_the_piper_loader(tmp_path):
    root = build_tiny_voice(tmp_path / "repo", "de")
    model = find_piper_model(root)
    assert model.name.endswith(".onnx") and model.with_name(model.name + ".json").is_file()
    assert (model.parent / "MODEL_CARD").is_file()
    voice = PiperVoice(model)
    assert voice.config.sample_rate == 22_050 and voice.config.espeak_voice == "de"
    speech = speak("Das Messer schneidet präzise. Jetzt kaufen!", "de", 8.0, voice)
    assert speech.backend == "piper" and len(speech.segments) == 2
    loud = np.abs(speech.samples).max()
    assert loud > 0.05  # sound, not silence
    # At 48 kHz and of a sensible length: each sentence between 0.3 s and 4 s.
    for start, end, _ in speech.segments:
        assert 0.3 < end - start < 4.0
    slow = voice.synthesize("Jetzt kaufen!", "de", 1.0)
    fast = voice.synthesize("Jetzt kaufen!", "de", 1.5)
    assert len(fast) < len(slow) * 0.8  # speed shortens the speech (the length scale)
    assert abs(len(slow) / RATE - len(voice.ids("Jetzt kaufen!")[0]) * 768 / 22_050) < 0.05


def test_tiny_kokoro_speaks_through_the_kokoro_loader(tmp_path):
    from clips.voices import KokoroVoice, kokoro_voice
    from productreel.model_store import find

    choice = find("voice", "kokoro-82m-ff_siwis")  # the shipped catalog's French voice
    root = build_tiny_voice(tmp_path / "repo", "fr")
    assert {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} == set(choice.files)
    voice = kokoro_voice(root, choice.files)
    assert isinstance(voice, KokoroVoice) and voice.espeak_voice == "fr-fr"
    speech = speak("Ce couteau coupe bien. Achetez maintenant!", "fr-fr", 8.0, voice)
    assert speech.backend == "kokoro" and len(speech.segments) == 2 and np.abs(speech.samples).max() > 0.05
    for start, end, _ in speech.segments:
        assert 0.3 < end - start < 5.0
    slow, fast = voice.synthesize("Achetez maintenant!", "", 1.0), voice.synthesize("Achetez maintenant!", "", 1.5)
    assert len(fast) < len(slow) * 0.8


def test_a_folder_with_no_voice_is_a_one_line_error(tmp_path):
    with pytest.raises(InputError, match="expected one Piper voice") as err:
        find_piper_model(tmp_path)
    assert "\n" not in str(err.value)
    (tmp_path / "v.onnx").write_bytes(b"not a model")
    (tmp_path / "v.onnx.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="not a Piper voice config"):
        PiperVoice(tmp_path / "v.onnx")


# -- which voice a clip gets ----------------------------------------------------------------------------------------


def test_auto_picks_the_pulled_voice_and_records_its_licence(tmp_path, monkeypatch):
    _catalog(tmp_path, monkeypatch)
    _pull(tmp_path)
    pick = pick_voice(_market(), "ad")
    assert isinstance(pick.backend, PiperVoice) and pick.findings == []
    assert pick.asset["name"] == "piper-de_DE-tiny-medium" and pick.asset["license"] == "CC0-1.0"
    assert pick.asset["revision"] == COMMIT and pick.asset["repo"] == "test-org/tiny-voices"
    assert pick.key() == {"name": "piper-de_DE-tiny-medium", "revision": COMMIT}


def test_auto_picks_kokoro_for_a_language_it_speaks(tmp_path, monkeypatch):
    from clips.voices import KokoroVoice

    folder = _catalog(tmp_path, monkeypatch)
    (folder / "voice.yaml").write_text(
        "models:\n"
        "  - id: kokoro-tiny-bf_emma\n"
        "    backend: kokoro\n"
        "    repo: test-org/tiny-kokoro\n"
        f"    revision: {COMMIT}\n"
        "    files: [onnx/model.onnx, voices/bf_emma.bin, tokenizer.json, config.json, README.md]\n"
        "    licence: Apache-2.0\n"
        "    ads: true\n"
        "    languages: [en-gb]\n"
        "    why: a tiny Kokoro for tests\n",
        encoding="utf-8",
    )
    from productreel.model_store import find

    build_tiny_voice(tmp_path / "hub" / "models--test-org--tiny-kokoro" / "snapshots" / COMMIT, "en",
                     choice=find("voice", "kokoro-tiny-bf_emma"))
    pick = pick_voice(_market("gb", "en-GB", "en-gb"), "ad")
    assert isinstance(pick.backend, KokoroVoice) and pick.backend.espeak_voice == "en-gb" and pick.findings == []
    assert (pick.asset["name"], pick.asset["license"], pick.asset["revision"]) == ("kokoro-tiny-bf_emma", "Apache-2.0", COMMIT)
    # en-US is not en-GB, but the language matches: the British voice speaks for it rather than espeak-ng.
    assert isinstance(pick_voice(_market("us", "en-US", "en-us"), "ad").backend, KokoroVoice)


def test_a_missing_voice_falls_back_to_espeak_with_an_info_finding(tmp_path, monkeypatch):
    _catalog(tmp_path, monkeypatch)  # nothing pulled
    pick = pick_voice(_market(), "ad")
    assert isinstance(pick.backend, EspeakVoice) and pick.asset["name"] == "espeak-ng" and pick.key() == {}
    (f,) = pick.findings
    assert (f.rule, f.severity) == ("VOICE-1", "INFO")
    assert "piper-de_DE-tiny-medium" in f.message and "models pull voice --markets de" in f.message
    # A language no voice in the catalog speaks: espeak-ng, and the finding says why.
    (g,) = pick_voice(_market("kr", "ko-KR", "ko"), "ad").findings
    assert "'ko'" in g.message and g.severity == "INFO"


def test_a_voice_not_licensed_for_ads_is_refused_in_one_line(tmp_path, monkeypatch):
    _catalog(tmp_path, monkeypatch, ads=False, licence="CC-BY-NC-4.0")
    _pull(tmp_path)
    # auto never picks it: espeak-ng voices the ad.
    assert isinstance(pick_voice(_market(), "ad").backend, EspeakVoice)
    # Named, it is refused for an ad with a line that names the voice and its licence.
    monkeypatch.setenv("PRODUCTREEL_VOICE", "piper-de_DE-tiny-medium")
    with pytest.raises(InputError) as err:
        pick_voice(_market(), "ad")
    msg = str(err.value)
    assert "piper-de_DE-tiny-medium" in msg and "CC-BY-NC-4.0" in msg and "ads" in msg and "\n" not in msg
    # A tutorial renders with it, and its licence goes into the manifest (where LIC-1 blocks publishing it).
    pick = pick_voice(_market(), "tutorial")
    assert isinstance(pick.backend, PiperVoice) and pick.asset["license"] == "CC-BY-NC-4.0"
    # MMS-TTS is CC-BY-NC-4.0: refused for ads.
    monkeypatch.setenv("PRODUCTREEL_VOICE", "mms")
    with pytest.raises(InputError, match="CC-BY-NC-4.0"):
        pick_voice(_market(), "ad")


def test_a_local_piper_voice_has_no_licence_until_the_seller_records_one(tmp_path, monkeypatch):
    from compliance.rights import license_problem

    _catalog(tmp_path, monkeypatch)
    build_tiny_voice(tmp_path / "mine", "de")
    monkeypatch.setenv("PRODUCTREEL_VOICE", f"piper:{tmp_path / 'mine'}")
    pick = pick_voice(_market(), "ad")
    assert isinstance(pick.backend, PiperVoice) and pick.asset["path"].endswith(".onnx")
    assert license_problem(pick.asset, []).startswith("no license entry")  # LIC-1 blocks it
    assert pick.key()["name"] == "de_DE-tiny-medium"
    monkeypatch.setenv("PRODUCTREEL_VOICE", "no-such-voice")
    with pytest.raises(InputError, match="unknown voice 'no-such-voice'"):
        pick_voice(_market(), "ad")


def test_shipped_catalog_marks_only_verified_voices_for_ads(monkeypatch):
    from productreel.model_store import catalog

    monkeypatch.delenv("PRODUCTREEL_MODEL_CATALOG", raising=False)
    voices = catalog("voice")
    assert voices and all(v.why and v.licence for v in voices)
    assert {v.backend for v in voices} <= {"piper", "kokoro"}  # every backend clips.voices loads
    for v in voices:
        if "lessac" in v.licence.lower() or "research only" in v.licence.lower():
            assert v.ads is False, v.id
    # LIC-1 blocks each voice marked not for ads by its licence words, too.
    from compliance.rights import license_problem
    from compliance.rules import rule_book

    forbidden = (rule_book(None).licenses or {}).get("forbidden", [])
    for v in voices:
        if not v.ads:
            entry = {"source": v.repo, "license": v.licence, "owner": "x"}
            assert license_problem(entry, forbidden), v.id


# -- a de ad with the tiny voice, through the job, signed --------------------------------------------------------------


@pytest.mark.slow
def test_a_de_ad_with_the_tiny_voice_records_the_voice_in_its_manifest_and_c2pa(tmp_path, monkeypatch):
    import c2pa

    from jobs.job import RunOptions, job_inputs, run_job
    from productreel.models import Job, JobStatus, Product, ProductImage

    _catalog(tmp_path, monkeypatch)
    _pull(tmp_path)
    photo = SAMPLES / "images" / "mug-white.jpg"
    product = Product(id="1", handle="ceramic-mug", title="Stoneware Coffee Mug", description="A stoneware mug. It keeps coffee hot.",
                      source="catalog.csv:2", images=[ProductImage(src=str(photo), path=photo)])
    options = RunOptions(out_dir=str(tmp_path / "out"), ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}", profile="tiny")
    job = Job(handle="ceramic-mug", market="de", kind="ad", format="9:16")
    inputs = job_inputs(job, product, options)
    outcome = run_job(inputs, product, options)

    assert outcome.status is JobStatus.RENDERED, [f.message for f in outcome.findings if f.severity == "BLOCK"]
    assert not [f for f in outcome.findings if f.rule in ("VOICE-1", "LIC-1")], [f.message for f in outcome.findings]
    sidecar = json.loads(Path(outcome.metadata).read_text(encoding="utf-8"))
    assert sidecar["audio"]["voice"] == "piper"
    assert sidecar["audio"]["voice_model"]["name"] == "piper-de_DE-tiny-medium"
    (voice,) = [a for a in sidecar["assets"] if a["kind"] == "voice"]
    assert (voice["name"], voice["license"], voice["revision"]) == ("piper-de_DE-tiny-medium", "CC0-1.0", COMMIT)

    with open(outcome.clip, "rb") as fh, c2pa.Reader("video/mp4", fh) as reader:
        store = json.loads(reader.json())
    manifest = store["manifests"][store["active_manifest"]]
    ingredients = {i["title"]: i for i in manifest["ingredients"]}
    meta = ingredients["piper-de_DE-tiny-medium"]["metadata"]["productreel:license"]
    assert (meta["kind"], meta["license"], meta["revision"], meta["repo"]) == ("voice", "CC0-1.0", COMMIT, "test-org/tiny-voices")
    assert ingredients["piper-de_DE-tiny-medium"]["relationship"] == "inputTo"

    # The neural voice is part of the job key: the same job voiced by espeak-ng has another key.
    shutil.rmtree(tmp_path / "hub")
    assert job_inputs(job, product, options).key != inputs.key
