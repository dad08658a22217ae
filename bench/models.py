"""What the model store's checks cost: `models pull` against plain `hf_hub_download`, and a load's check.

    .venv/bin/python bench/models.py [--mb 256]

A Hub emulator (tests/hub_emulator.py) serves one model of --mb MB from a child process on loopback,
so only the client's work is in this process's CPU time. Measured in this one run:

- pull: productreel.model_pull.pull (metadata, download to a resumable partial file, sha256 check,
  link into the cache) against huggingface_hub.hf_hub_download of the same file into another cache
  (which checks nothing), best of --repeat each, CPU seconds; ratio = pull / hf_hub_download;
- load: model_store.local_dir() in a fresh state, with the lock's stamp (the file untouched since the
  pull hashed it) against the same call with the stamp gone (the file hashed again);
  ratio = with stamp / without.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu() -> float:
    return time.process_time()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256, help="size of the model file in MB")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-models-"))
    try:
        repo = work / "repo"
        repo.mkdir()
        with open(repo / "model.onnx", "wb") as fh:
            block = os.urandom(1 << 20)
            for _ in range(args.mb):
                fh.write(block)
        (repo / "config.json").write_text("{}")
        server = subprocess.Popen([sys.executable, "-m", "tests.hub_emulator", f"bench/model={repo}"], cwd=ROOT,
                                  stdout=subprocess.PIPE, text=True)
        try:
            url = server.stdout.readline().strip()
            run(work, url, args)
        finally:
            server.terminate()
            server.wait(timeout=10)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, url: str, args: argparse.Namespace) -> None:
    os.environ.pop("HF_HUB_OFFLINE", None)
    os.environ["HF_ENDPOINT"] = url
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    import huggingface_hub.constants
    from huggingface_hub import hf_hub_download

    from productreel import model_pull, model_store
    from productreel.model_store import ModelChoice

    huggingface_hub.constants.HF_HUB_OFFLINE = False
    choice = ModelChoice(id="bench", kind="voice", backend="piper", repo="bench/model", revision="main",
                         files=("model.onnx", "config.json"), licence="CC0-1.0", ads=True, languages=("de",))
    pulls, plains = [], []
    for i in range(args.repeat):
        os.environ["HF_HOME"] = str(work / f"hf-pull-{i}")
        os.environ["PRODUCTREEL_CACHE_DIR"] = str(work / f"pr-{i}")
        start = cpu()
        model_pull.pull(choice)
        pulls.append(cpu() - start)
        start = cpu()
        for name in choice.files:
            hf_hub_download("bench/model", name, cache_dir=str(work / f"hf-plain-{i}"), endpoint=url)
        plains.append(cpu() - start)
    pull, plain = min(pulls), min(plains)
    print(f"pull {args.mb} MB: models pull {pull:.3f} CPU-s, hf_hub_download {plain:.3f} CPU-s, ratio {pull / plain:.2f}")

    # The load check, in the state the last pull left: stamps in the lock.
    stamped, hashed = [], []
    for _ in range(args.repeat):
        model_store._HASHED.clear()
        start = cpu()
        assert model_store.local_dir(choice) is not None
        stamped.append(cpu() - start)
        model_store._HASHED.clear()
        entry = model_store.read_lock()["bench/model"]
        for record in entry["files"].values():
            record.pop("stamp", None)
        lock = model_store.lock_path()
        saved = lock.read_text()
        from productreel import atomic

        atomic.write_json(lock, {"version": 1, "repos": {"bench/model": entry}})
        start = cpu()
        assert model_store.local_dir(choice) is not None
        hashed.append(cpu() - start)
        lock.write_text(saved)
    print(f"load check: with the pull's stamp {min(stamped) * 1000:.1f} ms CPU, hashing again {min(hashed) * 1000:.1f} ms CPU, "
          f"ratio {min(stamped) / min(hashed):.4f}")


if __name__ == "__main__":
    main()
