"""The model catalog, the choice per market, the lock file and the cache lookup (no network)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from productreel import model_store
from productreel.errors import InputError
from productreel.model_store import ModelChoice, ModelIntegrityError

COMMIT = "a" * 40


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A catalog folder, a Hugging Face cache and a productreel cache, all in tmp_path."""
    cat = tmp_path / "catalog"
    cat.mkdir()
    monkeypatch.setenv("PRODUCTREEL_MODEL_CATALOG", str(cat))
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "pr-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    return cat


def _write(cat: Path, kind: str, text: str) -> None:
    (cat / f"{kind}.yaml").write_text(text, encoding="utf-8")


VOICES = """
models:
  - {id: nc-voice, backend: mms, repo: org/nc, revision: main, licence: CC-BY-NC-4.0, ads: false, languages: [de]}
  - {id: de-voice, backend: piper, repo: org/de, revision: main, files: [de.onnx], licence: CC0-1.0, ads: true, languages: [de]}
  - {id: en-us, backend: kokoro, repo: org/kokoro, revision: main, files: [a.onnx], licence: Apache-2.0, ads: true, languages: [en-us, ja]}
  - {id: en-gb, backend: kokoro, repo: org/kokoro, revision: main, files: [b.onnx], licence: Apache-2.0, ads: true, languages: [en-gb]}
"""


def test_shipped_video_catalog_reads_and_prefers_a_model_allowed_in_ads() -> None:
    video = model_store.catalog("video")
    assert video and all(c.kind == "video" for c in video)
    first = model_store.recommended("video", "de")
    assert first is not None and first.ads and first.licence == "Apache-2.0"
    # Non-commercial or conditional weights are listed but never recommended for ads.
    assert any(not c.ads for c in video)


def test_missing_catalog_file_is_an_empty_catalog(store: Path) -> None:
    assert model_store.catalog("voice") == []
    assert model_store.recommended("voice", "de") is None


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(InputError, match="unknown model kind"):
        model_store.catalog("music")


def test_recommended_voice_by_language_then_locale_skipping_non_commercial(store: Path) -> None:
    _write(store, "voice", VOICES)
    assert model_store.recommended("voice", "de").id == "de-voice"  # nc-voice comes first but may not voice ads
    assert model_store.recommended("voice", "de", ads=False).id == "nc-voice"
    assert model_store.recommended("voice", "gb").id == "en-gb"  # the locale beats the list order
    assert model_store.recommended("voice", "us").id == "en-us"
    assert model_store.recommended("voice", "ca").id == "en-us"  # en-CA: same language, first in the list
    assert model_store.recommended("voice", "jp").id == "en-us"  # jp's language is ja
    assert model_store.recommended("voice", "kr") is None


def test_recommended_mt_by_pair_and_none_for_the_source_language(store: Path) -> None:
    _write(store, "mt", """
models:
  - {id: opus-en-de, backend: marian, repo: Helsinki-NLP/opus-mt-en-de, revision: main, licence: CC-BY-4.0, ads: true,
     attribution: "OPUS-MT, Helsinki-NLP", languages: [en-de]}
  - {id: opus-en-fr, backend: marian, repo: Helsinki-NLP/opus-mt-en-fr, revision: main, licence: CC-BY-4.0, ads: true, languages: [en-fr]}
""")
    assert model_store.recommended("mt", "de").id == "opus-en-de"
    assert model_store.recommended("mt", "ca-fr").id == "opus-en-fr"  # ca-fr speaks fr
    assert model_store.recommended("mt", "us") is None  # nothing to translate
    assert model_store.recommended("mt", "de", source_lang="fr") is None


@pytest.mark.parametrize("entry, message", [
    ("{id: x, backend: b, repo: noslash, revision: main, licence: MIT, ads: true}", "not a Hugging Face id"),
    ("{id: x, backend: b, repo: o/n, revision: main, licence: MIT}", "lacks 'ads'"),
    ("{id: x, backend: b, repo: o/n, revision: main, licence: MIT, ads: yes please}", "true or false"),
    ("{id: x, backend: b, repo: o/n, revision: main, licence: MIT, ads: true, colour: red}", "unknown field 'colour'"),
    ("{id: x, backend: b, repo: o/n, revision: main, licence: MIT, ads: true, files: [a], sha256: {a: beef}}", "64-hex"),
    ("{id: x, backend: b, repo: o/n, revision: main, licence: MIT, ads: true, files: [a], sha256: {b: '" + "0" * 64 + "'}}",
     "not in `files`"),
])
def test_bad_catalog_entry_is_one_line_naming_the_file_and_entry(store: Path, entry: str, message: str) -> None:
    _write(store, "voice", f"models:\n  - {entry}\n")
    with pytest.raises(InputError, match=message) as info:
        model_store.catalog("voice")
    assert "voice.yaml (models[0])" in str(info.value) and "\n" not in str(info.value)


def test_catalog_is_read_again_after_an_edit(store: Path) -> None:
    _write(store, "voice", "models: []\n")
    assert model_store.catalog("voice") == []
    _write(store, "voice", VOICES)
    import os

    os.utime(store / "voice.yaml", ns=(1, 10**18))
    assert len(model_store.catalog("voice")) == 4


def _snapshot(commit: str, repo: str, files: dict[str, bytes]) -> Path:
    folder = model_store.repo_folder(repo) / "snapshots" / commit
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def _choice(**kw) -> ModelChoice:
    base = dict(id="m", kind="voice", backend="piper", repo="org/m", revision=COMMIT, files=("m.onnx",),
                licence="CC0-1.0", ads=True, languages=("de",))
    base.update(kw)
    return ModelChoice(**base)


def test_local_dir_of_a_pinned_choice_checks_the_catalog_sha256(store: Path) -> None:
    data = b"weights"
    choice = _choice(sha256={"m.onnx": hashlib.sha256(data).hexdigest()})
    assert model_store.local_dir(choice) is None  # not downloaded
    folder = _snapshot(COMMIT, "org/m", {"m.onnx": data})
    assert model_store.local_dir(choice) == folder
    (folder / "m.onnx").write_bytes(b"tampered")
    with pytest.raises(ModelIntegrityError, match="models pull voice"):
        model_store.local_dir(choice)


def test_a_branch_revision_is_only_found_through_the_lock(store: Path) -> None:
    choice = _choice(revision="main", files=("m.onnx", "cfg/*"))
    _snapshot(COMMIT, "org/m", {"m.onnx": b"w", "cfg/a.json": b"{}"})
    assert model_store.commit_of(choice) is None
    assert model_store.local_dir(choice) is None  # never pulled: the lock does not say which commit
    lock = model_store.lock_path()
    lock.parent.mkdir(parents=True)
    files = {"m.onnx": {"sha256": hashlib.sha256(b"w").hexdigest(), "size": 1},
             "cfg/a.json": {"sha256": hashlib.sha256(b"{}").hexdigest(), "size": 2}}
    lock.write_text(json.dumps({"repos": {"org/m": {"requested": "main", "commit": COMMIT, "files": files}}}))
    assert model_store.local_dir(choice) == model_store.repo_folder("org/m") / "snapshots" / COMMIT
    assert model_store.model_ref(choice)["revision"] == COMMIT
    assert set(model_store.expected_files(choice)) == {"m.onnx", "cfg/a.json"}
    # A file the glob matched, gone from the cache: the model is not there.
    (model_store.repo_folder("org/m") / "snapshots" / COMMIT / "cfg" / "a.json").unlink()
    assert model_store.local_dir(choice) is None


def test_model_ref_and_refusal_for_ads() -> None:
    nc = _choice(id="mms-deu", repo="facebook/mms-tts-deu", licence="CC-BY-NC-4.0", ads=False)
    ref = model_store.model_ref(nc)
    assert ref == {"name": "mms-deu", "repo": "facebook/mms-tts-deu", "revision": COMMIT, "licence": "CC-BY-NC-4.0",
                   "ads": False, "attribution": None}
    assert model_store.refuse_for_ads(nc) == (
        "model mms-deu (facebook/mms-tts-deu) is licensed CC-BY-NC-4.0, which does not allow use in ads")
    assert model_store.refuse_for_ads(_choice()) is None


def test_damaged_lock_file_is_one_line(store: Path) -> None:
    lock = model_store.lock_path()
    lock.parent.mkdir(parents=True)
    lock.write_text("{not json")
    with pytest.raises(InputError, match="lock file cannot be read"):
        model_store.read_lock()


def test_a_catalog_folder_that_does_not_exist_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODUCTREEL_MODEL_CATALOG", str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="PRODUCTREEL_MODEL_CATALOG: model catalog folder not found"):
        model_store.catalog("voice")
