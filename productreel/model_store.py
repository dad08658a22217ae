"""The model catalog and the local model store: which checkpoint a market gets, and where it lies.

The catalog is data: ``productreel/model_catalog/<kind>.yaml`` (kind: voice, mt, video), a list
under ``models:`` in order of preference, one mapping per :class:`ModelChoice` field.
``PRODUCTREEL_MODEL_CATALOG`` points at another folder holding the same files (tests, a seller's
own list). A missing file is an empty catalog.

Models live in the local Hugging Face cache (``HF_HUB_CACHE``, else ``HF_HOME``/hub, else
~/.cache/huggingface/hub), put there by ``productreel models pull`` (productreel/model_pull.py),
the user's opt-in. Nothing here downloads.

Pins. A catalog entry names a 40-hex commit where one is known; otherwise a branch ("main"), and
the first pull pins it: the lock file (``<PRODUCTREEL_CACHE_DIR>/models.lock.json``, default
~/.cache/productreel) records the commit the branch resolved to and the sha256 and size of every
file pulled. Later pulls fetch that commit, and :func:`local_dir` checks the files against the
catalog's sha256 (when it has them) and the lock (trust on first use).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from productreel.errors import InputError

KINDS = ("voice", "mt", "video")
CATALOG_DIR = Path(__file__).resolve().parent / "model_catalog"
LOCK_FILE = "models.lock.json"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


class ModelIntegrityError(InputError):
    """A model file in the cache differs from the sha256 its catalog entry or the lock file records."""


@dataclass(frozen=True)
class ModelChoice:
    """One checkpoint the catalog offers: where it comes from, what it may be used for, and why."""

    id: str  # our name, e.g. "piper-de_DE-thorsten-medium"
    kind: str  # "voice" | "mt" | "video"
    backend: str  # the loader that uses it: "piper", "kokoro", "marian", "diffusers-ltx", ...
    repo: str  # Hugging Face repo id
    revision: str  # a 40-hex commit (pinned), or a branch pinned by the first pull (lock file)
    files: tuple[str, ...] = ()  # repo paths or globs to fetch (allow_patterns); empty = the whole repo
    sha256: dict[str, str] = field(default_factory=dict, hash=False)  # repo path -> expected sha256
    licence: str = ""
    ads: bool = False  # may this model voice / translate / draw a seller's ad
    attribution: str | None = None
    languages: tuple[str, ...] = ()  # voice: spoken languages; mt: ("en-de", ...) pairs; video: ()
    why: str = ""  # one line shown in `models list`

    @property
    def pinned(self) -> bool:
        """True when the catalog names a commit; False when the first pull pins it (lock file)."""
        return bool(_COMMIT.match(self.revision))


# -- the catalog -------------------------------------------------------------------------------------


def catalog_dir() -> Path:
    """The catalog folder: PRODUCTREEL_MODEL_CATALOG, else the one shipped in the package."""
    from productreel.settings import get_settings

    folder = Path(get_settings().model_catalog or CATALOG_DIR)
    if not folder.is_dir():  # a missing file is an empty catalog, a missing folder is a typo in the setting
        raise InputError(f"model catalog folder not found: {folder}", where="PRODUCTREEL_MODEL_CATALOG")
    return folder


def catalog(kind: str) -> list[ModelChoice]:
    """Every entry of ``<catalog dir>/<kind>.yaml``, in order of preference ([] when the file is missing)."""
    if kind not in KINDS:
        raise InputError(f"unknown model kind {kind!r}; choose from {', '.join(KINDS)}")
    path = (catalog_dir() / f"{kind}.yaml").resolve()
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return []
    return list(_read_catalog(path, kind, stamp))


_FIELDS = {f.name for f in fields(ModelChoice)}
_REQUIRED = ("id", "backend", "repo", "revision", "licence", "ads")


@lru_cache(maxsize=16)
def _read_catalog(path: Path, kind: str, stamp: int) -> tuple[ModelChoice, ...]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"model catalog is not valid YAML: {exc}", where=f"{path}{f':{mark.line + 1}' if mark else ''}") from exc
    entries = data.get("models") if isinstance(data, dict) else None
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise InputError("model catalog must hold a list under `models:`", where=str(path))
    choices: list[ModelChoice] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{path} (models[{i}])"
        choice = _choice(entry, kind, where)
        if choice.id in seen:
            raise InputError(f"model id {choice.id!r} appears twice", where=where)
        seen.add(choice.id)
        choices.append(choice)
    return tuple(choices)


def _choice(entry: Any, kind: str, where: str) -> ModelChoice:
    if not isinstance(entry, dict):
        raise InputError("a model entry must be a mapping", where=where)
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise InputError(f"unknown field {unknown[0]!r} (fields: {', '.join(sorted(_FIELDS))})", where=where)
    missing = [k for k in _REQUIRED if entry.get(k) in (None, "")]
    if missing:
        raise InputError(f"model entry lacks {missing[0]!r}", where=where)
    if entry.get("kind", kind) != kind:
        raise InputError(f"entry of kind {entry['kind']!r} in the {kind} catalog", where=where)
    if not isinstance(entry["ads"], bool):
        raise InputError("`ads` must be true or false", where=where)
    repo = str(entry["repo"])
    if repo.count("/") != 1:
        raise InputError(f"repo {repo!r} is not a Hugging Face id (owner/name)", where=where)
    sha = entry.get("sha256") or {}
    if not isinstance(sha, dict) or not all(isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) for v in sha.values()):
        raise InputError("`sha256` must map repo paths to 64-hex digests", where=where)
    files = tuple(str(f) for f in entry.get("files") or ())
    stray = sorted(k for k in sha if not matches(k, files)) if files else []
    if stray:
        raise InputError(f"sha256 for {stray[0]!r}, which is not in `files`", where=where)
    revision = str(entry["revision"])
    if re.fullmatch(r"[0-9a-fA-F]{40}", revision):
        revision = revision.lower()
    return ModelChoice(
        id=str(entry["id"]), kind=kind, backend=str(entry["backend"]), repo=repo, revision=revision,
        files=files, sha256={str(k): v for k, v in sha.items()}, licence=str(entry["licence"]), ads=entry["ads"],
        attribution=(str(entry["attribution"]) if entry.get("attribution") else None),
        languages=tuple(str(x).lower() for x in entry.get("languages") or ()), why=str(entry.get("why") or ""),
    )


def is_pattern(name: str) -> bool:
    """True for a ``files`` entry that is a glob (``transformer/*``) rather than one repo path."""
    return any(ch in name for ch in "*?[")


def matches(path: str, files: tuple[str, ...]) -> bool:
    """True when repo ``path`` is one of ``files`` or matches one of its globs (an empty ``files`` takes everything)."""
    return not files or any(path == f or (is_pattern(f) and fnmatch.fnmatchcase(path, f)) for f in files)


def find(kind: str, model_id: str) -> ModelChoice | None:
    """The catalog entry with this id, or None."""
    return next((c for c in catalog(kind) if c.id == model_id), None)


# -- which model a market gets -----------------------------------------------------------------------


def market_language(market: Any) -> tuple[str, str]:
    """(language, locale) of a Market or a market code: ``ca-fr`` -> ("fr", "fr-ca"), ``jp`` -> ("ja", "ja-jp")."""
    locale = str(market.locale) if not isinstance(market, str) else _market_locale(market)
    locale = locale.replace("_", "-").lower()
    return locale.split("-")[0], locale


def _market_locale(code: str) -> str:
    """The locale a market file names (productreel/ reads the file itself: it never imports localization/)."""
    from productreel.settings import get_settings

    path = Path(get_settings().markets_dir) / f"{code.strip().lower()}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"unknown market {code!r} (no readable {path.name})", where=str(path.parent)) from exc
    locale = data.get("locale") if isinstance(data, dict) else None
    if not locale:
        raise InputError("market file names no locale", where=str(path))
    return str(locale)


def recommended(kind: str, market: Any, *, source_lang: str = "en", ads: bool = True) -> ModelChoice | None:
    """The catalog's first choice of ``kind`` for ``market`` (a Market or its code), or None.

    voice: a model speaking the market's language (one naming its locale, e.g. ``en-gb``, wins);
    mt: a model for the pair ``source_lang-<market language>`` (None when they are the same);
    video: the first video model. With ``ads`` (the default) only models that may be used in ads.
    """
    choices = [c for c in catalog(kind) if c.ads or not ads]
    if kind == "video":
        return choices[0] if choices else None
    lang, locale = market_language(market)
    if kind == "mt":
        src = source_lang.split("-")[0].lower()
        if src == lang:
            return None
        return next((c for c in choices if f"{src}-{lang}" in c.languages), None)
    best: tuple[int, int, ModelChoice] | None = None
    for i, c in enumerate(choices):
        score = 2 if locale in c.languages else 1 if (lang in c.languages or any(x.split("-")[0] == lang for x in c.languages)) else 0
        if score and (best is None or score > best[0]):
            best = (score, i, c)
    return best[2] if best else None


# -- the local cache and the lock file ---------------------------------------------------------------


def hub_cache() -> Path:
    """The Hugging Face hub cache folder, read from the environment now (HF_HUB_CACHE, HF_HOME)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def repo_folder(repo: str) -> Path:
    """The cache folder of a model repo (``models--owner--name``)."""
    return hub_cache() / ("models--" + repo.replace("/", "--"))


def lock_path() -> Path:
    """The lock file: the commit and file digests each repo was pinned to by its first pull."""
    from productreel.settings import get_settings

    return Path(get_settings().cache_dir).expanduser() / LOCK_FILE


def read_lock() -> dict[str, Any]:
    """The lock file's repos ({} when there is none); a damaged lock is one line naming it."""
    path = lock_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise InputError(f"model lock file cannot be read ({exc}); fix or delete it", where=str(path)) from exc
    repos = data.get("repos") if isinstance(data, dict) else None
    return repos if isinstance(repos, dict) else {}


def lock_entry(choice: ModelChoice) -> dict[str, Any] | None:
    """The lock's record of this choice's repo at its catalog revision, or None before its first pull."""
    entry = read_lock().get(choice.repo)
    if not isinstance(entry, dict) or entry.get("requested") != choice.revision or not entry.get("commit"):
        return None
    return entry


def commit_of(choice: ModelChoice) -> str | None:
    """The commit this choice is pinned to: the catalog's, else the lock's, else None (not pulled yet)."""
    if choice.pinned:
        return choice.revision
    entry = lock_entry(choice)
    return str(entry["commit"]) if entry else None


def expected_files(choice: ModelChoice) -> dict[str, dict[str, Any]]:
    """repo path -> {"sha256": ..., "size": ...} as far as known: the catalog's digests, completed by the lock."""
    entry = lock_entry(choice) or {}
    locked = entry.get("files") if isinstance(entry.get("files"), dict) else {}
    # A stamp vouches only for the digest the pull hashed ("verified"); a catalog digest that differs is checked anew.
    # Plain paths are known before the first pull; globs (and a whole repo) only once the lock lists what they matched.
    names = [f for f in choice.files if not is_pattern(f)]
    if not choice.files or any(is_pattern(f) for f in choice.files):
        names += [n for n in sorted(locked) if n not in names and matches(n, choice.files)]
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        info = dict(locked.get(name) or {})
        info["verified"] = info.get("sha256")
        if name in choice.sha256:
            info["sha256"] = choice.sha256[name]
        out[name] = info
    return out


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_stamp(path: Path) -> list[int]:
    """[size, mtime_ns, inode] of the file behind ``path``: what changes when anything writes to it."""
    st = Path(os.path.realpath(path)).stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


# Files already hashed in this process: (path, size, mtime_ns, inode) -> sha256.
_HASHED: dict[tuple[str, int, int, int], str] = {}


def file_digest(path: Path) -> str:
    """sha256 of a file, hashed once per process while its size, mtime and inode stay the same."""
    real = Path(os.path.realpath(path))
    st = real.stat()
    key = (str(real), st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _HASHED:
        _HASHED[key] = sha256_file(real)
    return _HASHED[key]


def check_file(choice: ModelChoice, name: str, path: Path, expected: dict[str, Any]) -> None:
    """Raise ModelIntegrityError when ``path`` differs from the size or sha256 expected of repo file ``name``."""
    size = expected.get("size")
    if isinstance(size, int) and path.stat().st_size != size:
        raise ModelIntegrityError(
            f"model {choice.id}: {name} is {path.stat().st_size} bytes, not the {size} recorded; "
            f"run `productreel models pull {choice.kind}` again", where=str(path))
    want = expected.get("sha256")
    if want and expected.get("stamp") == file_stamp(path) and expected.get("verified") == want:
        return  # hashed by the pull that recorded it, and not written to since (size, mtime and inode unchanged)
    if want and file_digest(path) != want:
        raise ModelIntegrityError(
            f"model {choice.id}: {name} has sha256 {file_digest(path)[:12]}..., not {want[:12]}...; "
            f"run `productreel models pull {choice.kind}` again", where=str(path))


def snapshot_dir(choice: ModelChoice) -> Path | None:
    """The cache's snapshot folder of this choice's pinned commit (whether or not its files are there)."""
    commit = commit_of(choice)
    return repo_folder(choice.repo) / "snapshots" / commit if commit else None


def local_dir(choice: ModelChoice, *, verify: bool = True) -> Path | None:
    """The downloaded snapshot of ``choice`` in the local Hugging Face cache, or None when (part of) it is missing.

    Never downloads. Every file must be there; with ``verify`` (the default) each one is checked against
    the sha256 the catalog or the lock records and a mismatch raises ModelIntegrityError. A file is hashed
    once per process, and not at all while its size, mtime and inode are those the pull recorded after
    hashing it (a multi-GB video model is not read whole on every run); without ``verify``, only sizes
    are compared (for listings).
    """
    folder = snapshot_dir(choice)
    if folder is None or not folder.is_dir():
        return None
    globbed = not choice.files or any(is_pattern(f) for f in choice.files)
    if globbed and lock_entry(choice) is None:
        return None  # globs never pulled: nothing says which files make the model complete
    expected = expected_files(choice)
    if not expected:
        return None
    for name, info in expected.items():
        path = folder / name
        if not path.is_file():
            return None
        check_file(choice, name, path, info if verify else {"size": info.get("size")})
    return folder


def model_ref(choice: ModelChoice) -> dict[str, Any]:
    """What a manifest or sidecar records of a model: name, repo, revision (the pinned commit), licence, ads, attribution."""
    return {
        "name": choice.id, "repo": choice.repo, "revision": commit_of(choice) or choice.revision,
        "licence": choice.licence, "ads": choice.ads, "attribution": choice.attribution,
    }


def refuse_for_ads(choice: ModelChoice) -> str | None:
    """The one-line reason a model may not be used in an ad, or None when it may."""
    if choice.ads:
        return None
    return f"model {choice.id} ({choice.repo}) is licensed {choice.licence}, which does not allow use in ads"
