"""`models pull`'s download against the Hub emulator: pinned, checked, resumed, refused when the bytes are wrong."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from productreel import model_pull, model_store
from productreel.errors import InputError
from productreel.model_store import ModelChoice, ModelIntegrityError
from tests.hub_emulator import HubEmulator

WEIGHTS = bytes(range(256)) * 800  # 204800 bytes: an LFS file (its ETag is its sha256)
CONFIG = b'{"sample_rate": 22050}\n'  # a small git file (its ETag is its git blob id)


@pytest.fixture
def repo(tmp_path: Path, hub: HubEmulator) -> str:
    folder = tmp_path / "repo"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.onnx").write_bytes(WEIGHTS)
    (folder / "model.onnx.json").write_bytes(CONFIG)
    (folder / "sub" / "extra.txt").write_bytes(b"not wanted\n")
    return hub.add_repo("org/voice", folder)


def _choice(**kw) -> ModelChoice:
    base = dict(id="tiny-voice", kind="voice", backend="piper", repo="org/voice", revision="main",
                files=("model.onnx", "*.json"), licence="CC0-1.0", ads=True, languages=("de",))
    base.update(kw)
    return ModelChoice(**base)


class Bytes:
    """A progress sink that counts bytes, and can stop the download like Ctrl-C after ``stop_after`` bytes."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.seen = 0
        self.stop_after = stop_after
        self.files: list[tuple[str, int | None, int]] = []

    def file(self, name: str, total: int | None, initial: int):
        self.files.append((name, total, initial))
        sink = self

        class Bar:
            def update(self, n: int) -> None:
                sink.seen += n
                if sink.stop_after is not None and sink.seen >= sink.stop_after:
                    raise KeyboardInterrupt

            def close(self) -> None:
                pass

        return Bar()


def test_first_pull_pins_the_commit_and_every_sha256(hub: HubEmulator, repo: str) -> None:
    choice = _choice()
    assert model_store.local_dir(choice) is None
    progress = Bytes()
    result = model_pull.pull(choice, progress)
    assert result.commit == repo
    assert set(result.files) == {"model.onnx", "model.onnx.json"}  # the glob took the json, not sub/extra.txt
    assert result.files["model.onnx"]["sha256"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert result.downloaded == len(WEIGHTS) + len(CONFIG) == progress.seen
    lock = json.loads(model_store.lock_path().read_text())
    assert lock["repos"]["org/voice"]["commit"] == repo
    recorded = lock["repos"]["org/voice"]["files"]["model.onnx"]
    assert recorded["sha256"] == hashlib.sha256(WEIGHTS).hexdigest() and recorded["size"] == len(WEIGHTS)
    folder = model_store.local_dir(choice)
    assert folder == result.path and (folder / "model.onnx").read_bytes() == WEIGHTS
    assert model_store.model_ref(choice)["revision"] == repo
    # A second pull asks for the model info of the pinned commit and downloads nothing.
    before = len(hub.served("/resolve/"))
    again = model_pull.pull(choice)
    assert again.downloaded == 0 and len(hub.served("/resolve/")) == before
    assert hub.served("/api/models/org/voice/revision/")[-1].path.endswith(repo)


def test_later_pulls_keep_the_first_pin_when_the_branch_moves(tmp_path: Path, hub: HubEmulator, repo: str) -> None:
    choice = _choice()
    model_pull.pull(choice)
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "model.onnx").write_bytes(b"new weights")
    (moved / "model.onnx.json").write_bytes(b"{}")
    assert hub.add_repo("org/voice", moved) != repo  # main now names a new commit
    # The lock names the first commit: the pull fetches that one, and the model stays as it was.
    result = model_pull.pull(choice)
    assert result.commit == repo and (model_store.local_dir(choice) / "model.onnx").read_bytes() == WEIGHTS


def test_a_download_cut_short_continues_with_a_range_request(hub: HubEmulator, repo: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 4096)  # bytes reach the file as they come
    hub.cut_once("org/voice", "model.onnx")
    result = model_pull.pull(_choice())
    gets = [r for r in hub.served("/resolve/" + repo) if r.path.endswith("/model.onnx")]
    assert len(gets) == 2 and gets[0].range is None
    assert gets[1].range and gets[1].range.startswith("bytes=") and gets[1].range != "bytes=0-"
    assert (result.path / "model.onnx").read_bytes() == WEIGHTS


def test_an_interrupted_pull_resumes_where_it_stopped(hub: HubEmulator, repo: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 4096)
    choice = _choice(files=("model.onnx",))
    with pytest.raises(KeyboardInterrupt):
        model_pull.pull(choice, Bytes(stop_after=50_000))
    blobs = model_store.repo_folder("org/voice") / "blobs"
    partial = blobs / (hashlib.sha256(WEIGHTS).hexdigest() + ".incomplete")
    kept = partial.stat().st_size
    assert 0 < kept < len(WEIGHTS)
    assert model_store.local_dir(choice) is None  # nothing half-downloaded is used
    assert not (blobs / hashlib.sha256(WEIGHTS).hexdigest()).exists()

    progress = Bytes()
    result = model_pull.pull(choice, progress)
    assert result.resumed == kept and result.downloaded == len(WEIGHTS) - kept == progress.seen
    assert progress.files == [("model.onnx", len(WEIGHTS), kept)]
    assert [r for r in hub.served("/resolve/") if r.path.endswith("/model.onnx")][-1].range == f"bytes={kept}-"
    assert not partial.exists()
    assert (model_store.local_dir(choice) / "model.onnx").read_bytes() == WEIGHTS


def test_bytes_that_differ_from_the_etag_are_refused_and_deleted(hub: HubEmulator, repo: str) -> None:
    hub.corrupt("org/voice", "model.onnx")
    choice = _choice()
    with pytest.raises(ModelIntegrityError) as info:
        model_pull.pull(choice)
    message = str(info.value)
    assert "\n" not in message and "tiny-voice" in message and "model.onnx" in message and "deleted" in message
    blobs = model_store.repo_folder("org/voice") / "blobs"
    assert not any(p.name.startswith(hashlib.sha256(WEIGHTS).hexdigest()) for p in blobs.iterdir())
    assert not (model_store.repo_folder("org/voice") / "snapshots" / repo / "model.onnx").exists()
    assert model_store.lock_entry(choice) is None and model_store.local_dir(choice) is None


def test_a_file_that_differs_from_the_catalog_sha256_is_refused(hub: HubEmulator, repo: str) -> None:
    # An LFS file: the model info API already gives its sha256, so nothing is downloaded.
    choice = _choice(revision=repo, files=("model.onnx",), sha256={"model.onnx": hashlib.sha256(b"other").hexdigest()})
    with pytest.raises(ModelIntegrityError, match="not downloaded"):
        model_pull.pull(choice)
    assert not [r for r in hub.served("/resolve/") if r.path.endswith("/model.onnx")]
    # A small git file: downloaded, then refused by its sha256.
    small = _choice(revision=repo, files=("model.onnx.json",), sha256={"model.onnx.json": hashlib.sha256(b"{}").hexdigest()})
    with pytest.raises(ModelIntegrityError, match="expected"):
        model_pull.pull(small)
    assert model_store.local_dir(choice) is None and model_store.local_dir(small) is None


def test_a_pinned_commit_the_hub_does_not_have_is_one_line(hub: HubEmulator, repo: str) -> None:
    with pytest.raises(InputError, match=f"tiny-voice: org/voice has no revision {'b' * 40}") as info:
        model_pull.pull(_choice(revision="b" * 40))
    assert "\n" not in str(info.value)


def test_a_damaged_cached_file_is_refused_at_load_and_fetched_again(hub: HubEmulator, repo: str) -> None:
    choice = _choice()
    result = model_pull.pull(choice)
    target = Path(os.path.realpath(result.path / "model.onnx"))
    os.chmod(target, 0o644)
    target.write_bytes(WEIGHTS[:-1] + b"\x00")  # same size: only the sha256 tells
    with pytest.raises(ModelIntegrityError, match="models pull voice"):
        model_store.local_dir(choice)
    assert model_pull.pull(choice).downloaded == len(WEIGHTS)
    assert (model_store.local_dir(choice) / "model.onnx").read_bytes() == WEIGHTS


def test_unknown_repo_file_and_offline_mode_are_one_line(hub: HubEmulator, repo: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="tiny-voice: no repo org/absent on http://127.0.0.1") as info:
        model_pull.pull(_choice(repo="org/absent"))
    assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="missing.onnx is not in org/voice"):
        model_pull.pull(_choice(files=("missing.onnx",)))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(InputError, match="HF_HUB_OFFLINE"):
        model_pull.pull(_choice())


def test_a_load_hashes_again_only_what_changed_since_the_pull(hub: HubEmulator, repo: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    choice = _choice()
    result = model_pull.pull(choice)
    hashed: list[str] = []
    real = model_store.sha256_file
    monkeypatch.setattr(model_store, "sha256_file", lambda p, *a: hashed.append(Path(p).name) or real(p, *a))
    model_store._HASHED.clear()
    assert model_store.local_dir(choice) == result.path and hashed == []  # the pull's stamps vouch for both files
    target = Path(os.path.realpath(result.path / "model.onnx"))
    os.utime(target, ns=(1, 1))  # something wrote to it: its stamp no longer matches
    assert model_store.local_dir(choice) == result.path and hashed == [target.name]


def test_models_sharing_a_repo_share_its_pin_and_its_lock_entry(hub: HubEmulator, repo: str) -> None:
    weights = _choice(id="weights", files=("model.onnx",))
    config = _choice(id="config", files=("model.onnx.json",))
    assert model_pull.pull(weights).commit == repo
    assert model_pull.pull(config).commit == repo
    files = json.loads(model_store.lock_path().read_text())["repos"]["org/voice"]["files"]
    assert set(files) == {"model.onnx", "model.onnx.json"}
    assert model_store.local_dir(weights) == model_store.local_dir(config) is not None


def test_a_file_already_in_the_cache_is_checked_against_the_etag_before_it_is_pinned(hub: HubEmulator, repo: str) -> None:
    choice = _choice(files=("model.onnx",))
    model_pull.pull(choice)
    model_store.lock_path().unlink()  # as if `hf download` had put it there: no lock, no expected sha256
    target = Path(os.path.realpath(model_store.repo_folder("org/voice") / "snapshots" / repo / "model.onnx"))
    os.chmod(target, 0o644)
    target.write_bytes(b"x" * len(WEIGHTS))
    result = model_pull.pull(choice)  # the ETag (the sha256 of the real file) finds it wrong: fetched again
    assert result.downloaded == len(WEIGHTS) and (result.path / "model.onnx").read_bytes() == WEIGHTS


def test_an_unreachable_hub_is_a_transient_one_line_error(hub: HubEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from productreel.errors import TransientError

    with socket.socket() as sock:  # a port on loopback that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(TransientError) as info:
        model_pull.pull(_choice())
    assert "\n" not in str(info.value) and "run the pull again" in str(info.value)


def test_a_pinned_pull_is_found_by_loaders_that_ask_the_cache_for_main(hub: HubEmulator, repo: str) -> None:
    from huggingface_hub import snapshot_download

    result = model_pull.pull(_choice(revision=repo))
    folder = snapshot_download("org/voice", local_files_only=True, cache_dir=str(model_store.hub_cache()))
    assert Path(folder) == result.path
