"""Download catalog models into the local Hugging Face cache: the opt-in step (`productreel models pull`).

Each model is fetched at one commit: the catalog's pin, else the commit its branch resolved to on
the first pull (recorded in the lock file, productreel/model_store.py). The Hub is asked through
huggingface_hub (model info API, file metadata HEAD, ``http_get`` with Range), over plain HTTP, so
``hf_xet`` is never needed and a mirror (``HF_ENDPOINT``) works the same.

Why not ``hf_hub_download`` alone: huggingface_hub 2.x downloads into a temporary file unique to
the process and deletes it when the download fails, so an interrupted pull would start over; and
the file lands in the cache before anyone checked it. Here every file is fetched into
``blobs/<etag>.incomplete`` (kept when interrupted, continued with a Range request by the next
pull), checked (the catalog's sha256, else the lock's, else the Hub's own ETag: the sha256 of an LFS
file, the git blob id of a small one), and only then moved to ``blobs/<etag>``; huggingface_hub
then links it into ``snapshots/<commit>/`` exactly as its own downloads are. A file that fails its
check is deleted, never linked, and the pull of that model stops with one line.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from productreel import atomic
from productreel.errors import InputError, TransientError
from productreel.model_store import (
    ModelChoice,
    ModelIntegrityError,
    commit_of,
    file_stamp,
    hub_cache,
    is_pattern,
    lock_entry,
    lock_path,
    matches,
    read_lock,
    repo_folder,
)

DEFAULT_ENDPOINT = "https://huggingface.co"


class Bar(Protocol):
    """One file's progress: bytes as they arrive."""

    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


class Progress(Protocol):
    """Where a pull reports its progress (the CLI draws it with rich)."""

    def file(self, name: str, total: int | None, initial: int) -> Bar: ...


@dataclass
class PullResult:
    """What one model's pull did."""

    choice: ModelChoice
    commit: str
    path: Path  # the snapshot folder, as model_store.local_dir() will find it
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # repo path -> {"sha256", "size", "stamp"}
    downloaded: int = 0  # bytes fetched by this pull (0: everything was already in the cache)
    resumed: int = 0  # bytes an earlier, interrupted pull had already fetched


def endpoint() -> str:
    """The Hub endpoint: HF_ENDPOINT (a mirror, or a test's emulator), else huggingface.co; read now."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def pull(choice: ModelChoice, progress: Progress | None = None) -> PullResult:
    """Download ``choice`` at its pinned commit, check every file, record the pin; raise one line on failure.

    ModelIntegrityError: a file's sha256 differs from the one expected (the file is deleted).
    InputError: the repo, revision or a listed file does not exist, or downloads are switched off.
    TransientError: the Hub could not be reached; run the pull again (finished files are kept).
    """
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    if constants.HF_HUB_OFFLINE:
        raise InputError("HF_HUB_OFFLINE is set, so nothing can be downloaded: unset it (and TRANSFORMERS_OFFLINE) to pull")
    where = f"{choice.repo}@{choice.revision}"
    try:
        return _pull(choice, progress)
    except RevisionNotFoundError as exc:
        raise InputError(f"model {choice.id}: {choice.repo} has no revision {commit_of(choice) or choice.revision} "
                         f"on {endpoint()}", where=where) from exc
    except RepositoryNotFoundError as exc:  # GatedRepoError is one too
        raise InputError(f"model {choice.id}: no repo {choice.repo} on {endpoint()} (or it is private or gated: "
                         "accept its terms and set HF_TOKEN)", where=where) from exc
    except EntryNotFoundError as exc:
        raise InputError(f"model {choice.id}: a file listed for {choice.repo} is not on {endpoint()} ({type(exc).__name__})",
                         where=where) from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (401, 403):
            raise InputError(f"model {choice.id}: the Hub refused access (HTTP {status}); is the repo gated? "
                             "accept its terms and set HF_TOKEN", where=where) from exc
        raise TransientError(f"model {choice.id}: the Hub answered HTTP {status}; run the pull again", where=where) from exc
    except (httpx2.HTTPError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TransientError(f"model {choice.id}: the Hub could not be reached or the download broke off ({reason}); "
                             "run the pull again (what was fetched is kept)", where=f"{endpoint()} {where}") from exc


def _pull(choice: ModelChoice, progress: Progress | None) -> PullResult:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint())
    known = lock_entry(choice)
    # The lock's commit wins over the branch: later pulls fetch what the first one pinned.
    revision = commit_of(choice) or choice.revision
    info = api.model_info(choice.repo, revision=revision, files_metadata=True)
    commit = str(info.sha or "")
    if len(commit) != 40 or (len(revision) == 40 and commit != revision):
        raise InputError(f"model {choice.id}: the Hub answered commit {commit or 'none'!r} for revision {revision!r}",
                         where=choice.repo)
    siblings = {s.rfilename: s for s in info.siblings or []}
    names = [n for n in sorted(siblings) if matches(n, choice.files)]
    absent = [f for f in choice.files if not is_pattern(f) and f not in siblings]
    if absent:
        raise InputError(f"model {choice.id}: {absent[0]} is not in {choice.repo} at {commit[:12]}", where=choice.repo)
    if not names:
        raise InputError(f"model {choice.id}: no file of {choice.repo} at {commit[:12]} matches {list(choice.files)}",
                         where=choice.repo)
    locked = (known or {}).get("files") or {}
    result = PullResult(choice=choice, commit=commit, path=repo_folder(choice.repo) / "snapshots" / commit)
    for name in names:
        record = locked.get(name) or {}
        want = choice.sha256.get(name) or record.get("sha256")
        lfs = getattr(siblings[name], "lfs", None)
        if want and lfs is not None and getattr(lfs, "sha256", want) != want:
            # The Hub says up front that this commit holds other bytes than the ones pinned: nothing to download.
            raise ModelIntegrityError(f"model {choice.id}: the Hub's {name} at {commit[:12]} has sha256 "
                                      f"{lfs.sha256[:12]}..., not the pinned {want[:12]}...; not downloaded",
                                      where=choice.repo)
        digest, size, fetched, resumed = _fetch(choice, commit, name, want, record, progress)
        result.files[name] = _file_record(result.path / name, digest, size)
        result.downloaded += fetched
        result.resumed += resumed
    _record(choice, commit, result.files)
    _name_in_cache(choice, commit)
    return result


def _name_in_cache(choice: ModelChoice, commit: str) -> None:
    """Let loaders that ask the cache for a branch (``from_pretrained(repo)``, ``--model ORG/NAME``) find this snapshot.

    The cache's ``refs/<branch>`` is written when it is absent: an existing one (a newer snapshot
    another tool fetched) is left as it is.
    """
    ref = repo_folder(choice.repo) / "refs" / ("main" if choice.pinned else choice.revision)
    if not ref.exists():
        atomic.write_text(ref, commit)


def _fetch(choice: ModelChoice, commit: str, name: str, want: str | None, record: dict[str, Any],
           progress: Progress | None) -> tuple[str, int, int, int]:
    """One file into the cache at ``commit``, checked: (sha256, size, bytes fetched, bytes resumed).

    ``want`` is the sha256 the catalog or the lock expects (None on a first pull), ``record`` the
    lock's entry for the file (its stamp spares hashing a file no one wrote to since).
    """
    from filelock import FileLock
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    storage = repo_folder(choice.repo)
    pointer = storage / "snapshots" / commit / name
    if pointer.is_file() and want:
        if record.get("sha256") == want and record.get("stamp") == file_stamp(pointer):
            return want, pointer.stat().st_size, 0, 0
        digest = _sha256(pointer)
        if digest == want:
            return digest, pointer.stat().st_size, 0, 0
        # A cached file that fails its check is dropped and fetched again; the fresh copy is checked in turn.
        _drop(pointer)

    url = hf_hub_url(choice.repo, name, revision=commit, endpoint=endpoint())
    headers = build_hf_headers()
    meta = get_hf_file_metadata(url, headers=headers, endpoint=endpoint())
    etag = meta.etag or ""
    if not etag or "/" in etag or etag.startswith("."):
        raise InputError(f"model {choice.id}: the Hub sent no usable ETag for {name}", where=url)
    if pointer.is_file():
        # In the cache already (an earlier `hf download`), nothing to compare with but the Hub's ETag.
        digest = _sha256(pointer)
        if _matches(digest, etag, None, pointer):
            return digest, pointer.stat().st_size, 0, 0
        _drop(pointer)
    source = url
    if meta.location and meta.location != url:
        source = meta.location
        if urlsplit(source).netloc != urlsplit(url).netloc:
            headers.pop("authorization", None)  # a signed CDN link: the token stays with the Hub
    blob = storage / "blobs" / etag
    part = blob.with_name(etag + ".incomplete")
    blob.parent.mkdir(parents=True, exist_ok=True)
    fetched = resumed = 0
    # Beside huggingface_hub's own locks, so two pulls of one file take turns instead of writing one partial file.
    locks = hub_cache() / ".locks" / storage.name
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(str(locks / f"{etag}.incomplete.lock")):
        if not blob.is_file():
            with open(part, "ab") as fh:
                have = fh.tell()
                if meta.size is not None and have > meta.size:
                    fh.seek(0)
                    fh.truncate()
                    have = 0
                resumed = have
                bar = progress.file(name, meta.size, have) if progress else None
                try:
                    http_get(source, fh, resume_size=have, headers=headers, expected_size=meta.size,
                             displayed_filename=name, tqdm_class=_tqdm_for(bar))
                finally:
                    if bar is not None:
                        bar.close()
                fetched = fh.tell() - have
            digest = _sha256(part)
            if not _matches(digest, etag, want, part):
                part.unlink(missing_ok=True)
                expected = want or etag
                raise ModelIntegrityError(
                    f"model {choice.id}: {name} downloaded with sha256 {digest[:12]}..., expected {expected[:12]}...; "
                    "the file was deleted and not used", where=f"{choice.repo}@{commit[:12]}")
            os.replace(part, blob)
        else:
            digest = _sha256(blob)
            if not _matches(digest, etag, want, blob):
                blob.unlink()
                raise ModelIntegrityError(
                    f"model {choice.id}: the cached blob of {name} fails its check; it was deleted, run the pull again",
                    where=str(blob))
    # huggingface_hub links the checked blob into the snapshot folder its own way (symlink, or a copy).
    hf_hub_download(choice.repo, name, revision=commit, cache_dir=str(hub_cache()), endpoint=endpoint())
    return digest, blob.stat().st_size, fetched, resumed


def _file_record(pointer: Path, digest: str, size: int) -> dict[str, Any]:
    """The lock's record of a checked file: its sha256 and size, and the stamp that spares hashing it again."""
    return {"sha256": digest, "size": size, "stamp": file_stamp(pointer)}


def _matches(digest: str, etag: str | None, want: str | None, path: Path) -> bool:
    """The file's sha256 against the expected one; without one, against the Hub's ETag (LFS sha256 or git blob id)."""
    if want:
        return digest == want
    if etag and len(etag) == 64:
        return digest == etag
    if etag and len(etag) == 40:
        return _git_blob_id(path) == etag
    return True  # an ETag of no known form (a mirror's own): trust on first use, the lock pins these bytes from now on


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _git_blob_id(path: Path) -> str:
    """The git object id of a file (what the Hub sends as the ETag of a file not stored in LFS)."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _drop(pointer: Path) -> None:
    """Remove a snapshot file and, when it is a link, the blob behind it."""
    target = Path(os.path.realpath(pointer))
    pointer.unlink(missing_ok=True)
    if target != pointer and target.is_file():
        target.unlink(missing_ok=True)


def _tqdm_for(bar: Bar | None) -> Any:
    """A tqdm-shaped class http_get can drive, forwarding bytes to ``bar`` (silent when there is none)."""

    class _Forward:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def __enter__(self) -> "_Forward":
            return self

        def __exit__(self, *exc: Any) -> None:
            return None

        def update(self, n: int = 1) -> None:
            if bar is not None:
                bar.update(n)

        def close(self) -> None:
            pass

    return _Forward


def _record(choice: ModelChoice, commit: str, files: dict[str, dict[str, Any]]) -> None:
    """Write the pin to the lock file (atomically): commit and every file's sha256 and size."""
    from filelock import FileLock

    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        repos = read_lock()
        entry = repos.get(choice.repo)
        if not isinstance(entry, dict) or entry.get("requested") != choice.revision or entry.get("commit") != commit:
            entry = {"requested": choice.revision, "commit": commit, "files": {}}
        entry["files"] = {**(entry.get("files") or {}), **files}
        repos[choice.repo] = entry
        atomic.write_json(path, {"version": 1, "repos": dict(sorted(repos.items()))}, sort_keys=False)
