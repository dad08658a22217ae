"""`productreel models list` and `productreel models pull` against the Hub emulator (loopback only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
from typer.testing import CliRunner

from tests.hub_emulator import HubEmulator


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubEmulator]:
    """The emulator serving a voice and two translation models, with a catalog naming them."""
    import huggingface_hub.constants

    catalog = tmp_path / "catalog"
    catalog.mkdir()
    monkeypatch.setenv("PRODUCTREEL_MODEL_CATALOG", str(catalog))
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "pr-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "PRODUCTREEL_VOICE", "PRODUCTREEL_VOICE_MODEL", "PRODUCTREEL_MT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    for repo in ("voice", "mt-en-de", "mt-en-fr"):
        folder = tmp_path / "repos" / repo
        folder.mkdir(parents=True)
        (folder / "model.onnx").write_bytes(repo.encode() * 5000)
        (folder / "config.json").write_text('{"repo": "%s"}' % repo)
    (catalog / "voice.yaml").write_text("""
models:
  - {id: de-voice, backend: piper, repo: org/voice, revision: main, files: [model.onnx, config.json],
     licence: CC0-1.0, ads: true, languages: [de], why: "a German voice"}
  - {id: nc-voice, backend: mms, repo: org/nc, revision: main, licence: CC-BY-NC-4.0, ads: false, languages: [fr]}
""")
    (catalog / "mt.yaml").write_text("""
models:
  - {id: en-de, backend: marian, repo: org/mt-en-de, revision: main, licence: CC-BY-4.0, ads: true,
     attribution: "OPUS-MT", languages: [en-de]}
  - {id: en-fr, backend: marian, repo: org/mt-en-fr, revision: main, licence: Apache-2.0, ads: true, languages: [en-fr]}
""")
    with HubEmulator() as emulator:
        for repo in ("voice", "mt-en-de", "mt-en-fr"):
            emulator.add_repo(f"org/{repo}", tmp_path / "repos" / repo)
        monkeypatch.setenv("HF_ENDPOINT", emulator.url)
        yield emulator


def _cli(*args: str):
    from flows.cli import app

    return CliRunner().invoke(app, list(args))


def _listing(markets: str = "de,fr,us") -> dict:
    res = _cli("models", "list", "--markets", markets, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_list_then_pull_then_list(hub: HubEmulator) -> None:
    before = _listing()
    rows = {r["market"]: r for r in before["markets"]}
    assert rows["de"]["voice"]["id"] == "de-voice" and rows["de"]["voice"]["status"] == "not downloaded"
    assert rows["de"]["voice"]["pin"] == "pinned on first pull"
    assert rows["de"]["mt"]["id"] == "en-de" and rows["de"]["mt"]["attribution"] == "OPUS-MT"
    assert rows["fr"]["voice"]["id"] == "espeak-ng"  # nc-voice speaks fr but may not voice ads
    assert "nc-voice is licensed CC-BY-NC-4.0" in rows["fr"]["voice"]["why"]
    assert rows["us"]["mt"] is None  # English copy needs no translation
    assert before["missing"]["voice"]["command"] == "productreel models pull voice --markets de"
    assert before["missing"]["mt"]["command"] == "productreel models pull mt --markets de,fr"

    pulled = _cli("models", "pull", "voice", "--markets", "de,fr,us")
    assert pulled.exit_code == 0, pulled.output
    assert "de-voice: org/voice at" in pulled.stdout and "sha256 checked" in pulled.stdout

    after = {r["market"]: r for r in _listing()["markets"]}
    voice = after["de"]["voice"]
    commit = hub.repos["org/voice"].refs["main"]
    assert voice["status"] == "downloaded" and voice["path"].endswith(f"snapshots/{commit}")
    assert voice["pin"] == f"pinned {commit[:12]}" and voice["revision"] == commit
    assert "voice" not in _listing()["missing"]

    table = _cli("models", "list", "--markets", "de,us")
    assert table.exit_code == 0 and "models per market" in table.stdout
    assert "missing translation: en-de; add with: productreel models pull mt --markets de" in table.stdout


def test_a_bad_checksum_fails_that_model_and_the_batch_goes_on(hub: HubEmulator) -> None:
    hub.corrupt("org/mt-en-de", "model.onnx")
    res = _cli("models", "pull", "mt", "--markets", "de,fr")
    assert res.exit_code == 1
    errors = [line for line in res.stderr.splitlines() if line.startswith("productreel:")]
    assert len(errors) == 1 and "en-de" in errors[0] and "model.onnx" in errors[0] and "deleted" in errors[0]
    assert "en-fr: org/mt-en-fr at" in res.stdout
    rows = {r["market"]: r for r in _listing("de,fr")["markets"]}
    assert rows["de"]["mt"]["status"] == "not downloaded" and rows["fr"]["mt"]["status"] == "downloaded"


def test_pull_arguments_are_checked(hub: HubEmulator) -> None:
    assert _cli("models", "pull", "music").exit_code == 2
    res = _cli("models", "pull", "voice", "--model", "nope")
    assert res.exit_code == 2 and "no voice model 'nope'" in res.stderr
    nothing = _cli("models", "pull", "mt", "--markets", "us")
    assert nothing.exit_code == 0 and "nothing to pull" in nothing.stdout
    assert {"list", "pull", "tiny"} <= set(_cli("models", "--help").stdout.split())


def test_the_demo_line_says_what_a_pull_would_add(hub: HubEmulator) -> None:
    from flows.models_cli import demo_hint

    line = demo_hint(["us", "de"])
    assert line == ("models pull would add a neural voice for de (`productreel models pull voice --markets de`) and "
                    "translated copy for de (`productreel models pull mt --markets de`); "
                    "`productreel models list` shows every market")
    assert _cli("models", "pull", "voice", "--markets", "de").exit_code == 0
    assert _cli("models", "pull", "mt", "--markets", "de").exit_code == 0
    assert demo_hint(["us", "de"]) is None


def test_readme_licence_table_is_the_catalogs(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.models_cli import licence_table

    monkeypatch.delenv("PRODUCTREEL_MODEL_CATALOG", raising=False)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- licence-table:")
    block = readme[readme.index("\n", start) + 1 : readme.index("<!-- /licence-table -->")].strip()
    assert block == licence_table(), (
        "README's licence table differs from the model catalogs; paste the output of "
        "`python -c 'from flows.models_cli import licence_table; print(licence_table())'` between its markers")
    # What the issue asks the table to say: NC checkpoints may not be used in ads, permissive ones may.
    assert "| CC-BY-NC-4.0 | no |" in block and "| Apache-2.0 | yes |" in block


def test_a_voice_named_in_the_settings_is_what_list_shows(hub: HubEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODUCTREEL_VOICE", "mms")
    voice = _listing("de")["markets"][0]["voice"]
    assert (voice["id"], voice["licence"], voice["ads"], voice["status"]) == ("mms", "CC-BY-NC-4.0", False, "set by PRODUCTREEL_VOICE")
    monkeypatch.setenv("PRODUCTREEL_VOICE", "nc-voice")  # a catalog voice: its own licence and where it is stored
    voice = _listing("de")["markets"][0]["voice"]
    assert (voice["id"], voice["ads"], voice["status"]) == ("nc-voice", False, "not downloaded")
