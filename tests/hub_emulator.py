"""A Hugging Face Hub emulator on loopback: local folders served as model repos, each at a fixed commit.

It answers what huggingface_hub 2.4 asks when it pulls a model over plain HTTP (no Xet):

- ``GET /api/models/<repo>/revision/<rev>[?blobs=true]``: model info (``sha``, ``siblings`` with size,
  blob id and LFS sha256 when ``blobs`` is asked);
- ``HEAD|GET /<repo>/resolve/<rev>/<path>``: ``X-Repo-Commit``, ``ETag`` (the git blob id of a small
  file; the sha256 of an LFS file, also as ``X-Linked-Etag`` with ``X-Linked-Size``), ``Content-Length``,
  ``Accept-Ranges``; a ``Range: bytes=N-`` GET is answered 206 with ``Content-Range``;
- 404 with the Hub's ``X-Error-Code`` (RepoNotFound, RevisionNotFound, EntryNotFound).

Faults for tests: :meth:`HubEmulator.cut_once` ends the next download of a file half-way (the
connection closes before the promised length), :meth:`HubEmulator.corrupt` serves a file with one
byte changed while its headers still describe the original. Every request is logged in
``requests`` (method, path, Range header).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = {".onnx", ".bin", ".safetensors", ".pt", ".pth", ".model", ".spm", ".npz", ".npy", ".ckpt"}


@dataclass
class RepoFile:
    """One file of an emulated repo."""

    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def git_id(self) -> str:
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_id


@dataclass
class Repo:
    """An emulated model repo: the files of each commit, and the branches naming commits."""

    commits: dict[str, dict[str, RepoFile]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    range: str | None


class HubEmulator:
    """A threaded HTTP server on 127.0.0.1 serving folders as Hub model repos (use as a context manager)."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[Request] = []
        self._cut: dict[tuple[str, str], float] = {}
        self._corrupt: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="hub-emulator", daemon=True)

    @property
    def url(self) -> str:
        """The endpoint to put in HF_ENDPOINT."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "HubEmulator":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_repo(self, repo_id: str, folder: Path, *, commit: str | None = None, branch: str = "main") -> str:
        """Serve every file under ``folder`` as a commit of ``repo_id`` (derived from the contents unless given).

        Adding a folder to a repo that exists makes a new commit and moves ``branch`` to it; earlier commits
        stay reachable by their hash, as on the Hub.
        """
        files = {}
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                rel = path.relative_to(folder).as_posix()
                data = path.read_bytes()
                files[rel] = RepoFile(data, lfs=path.suffix in LFS_SUFFIXES or len(data) > 100_000)
        if commit is None:
            digest = hashlib.sha1(repo_id.encode())
            for rel, f in files.items():
                digest.update(f"{rel}\0{f.etag}\0".encode())
            commit = digest.hexdigest()
        repo = self.repos.setdefault(repo_id, Repo())
        repo.commits[commit] = files
        repo.refs[branch] = commit
        return commit

    def cut_once(self, repo_id: str, path: str, fraction: float = 0.5) -> None:
        """The next GET of this file sends ``fraction`` of what it promised, then closes the connection."""
        self._cut[(repo_id, path)] = fraction

    def corrupt(self, repo_id: str, path: str) -> None:
        """Serve this file with one byte changed (its ETag and size still those of the original)."""
        self._corrupt.add((repo_id, path))

    def served(self, path_part: str, method: str = "GET") -> list[Request]:
        """The logged requests of ``method`` whose path contains ``path_part``."""
        return [r for r in self.requests if r.method == method and path_part in r.path]

    # -- answering -------------------------------------------------------------------------------------

    def _resolve(self, repo_id: str, revision: str) -> tuple[str, dict[str, RepoFile]] | None:
        """(commit, files) that ``revision`` (a branch or a commit) names in ``repo_id``, or None."""
        repo = self.repos.get(repo_id)
        if repo is None:
            return None
        commit = repo.refs.get(revision, revision)
        return (commit, repo.commits[commit]) if commit in repo.commits else None

    def _take_cut(self, key: tuple[str, str]) -> float | None:
        with self._lock:
            return self._cut.pop(key, None)


_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")


def _handler(hub: HubEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet test output
            pass

        def do_HEAD(self) -> None:
            self._answer(head=True)

        def do_GET(self) -> None:
            self._answer(head=False)

        def _error(self, status: int, code: str, commit: str | None = None) -> None:
            body = json.dumps({"error": f"{code}"}).encode()
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", code)
            if commit:
                self.send_header("X-Repo-Commit", commit)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _answer(self, head: bool) -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            hub.requests.append(Request(self.command, path, self.headers.get("Range")))
            info = _INFO.match(path)
            if info:
                return self._info(info["repo"], info["rev"] or "main", "blobs" in parse_qs(url.query), head)
            resolve = _RESOLVE.match(path)
            if resolve:
                return self._file(resolve["repo"], resolve["rev"], resolve["path"], head)
            self._error(404, "RepoNotFound")

        def _info(self, repo_id: str, revision: str, blobs: bool, head: bool) -> None:
            if repo_id not in hub.repos:
                return self._error(404, "RepoNotFound")
            found = hub._resolve(repo_id, revision)
            if found is None:
                return self._error(404, "RevisionNotFound")
            commit, files = found
            siblings = []
            for name, f in files.items():
                sibling: dict = {"rfilename": name}
                if blobs:
                    sibling.update(size=len(f.data), blobId=f.git_id)
                    if f.lfs:
                        sibling["lfs"] = {"size": len(f.data), "sha256": f.sha256, "pointerSize": 134}
                siblings.append(sibling)
            body = json.dumps({"id": repo_id, "modelId": repo_id, "sha": commit, "private": False,
                               "siblings": siblings, "tags": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _file(self, repo_id: str, revision: str, name: str, head: bool) -> None:
            if repo_id not in hub.repos:
                return self._error(404, "RepoNotFound")
            found = hub._resolve(repo_id, revision)
            if found is None:
                return self._error(404, "RevisionNotFound")
            commit, files = found
            f = files.get(name)
            if f is None:
                return self._error(404, "EntryNotFound", commit)
            data = f.data
            if (repo_id, name) in hub._corrupt:
                data = bytes([data[0] ^ 0xFF]) + data[1:] if data else b"x"
            start = 0
            wanted = self.headers.get("Range")
            match = re.fullmatch(r"bytes=(\d+)-", wanted or "")
            status = 200
            if match and not head:
                start = int(match[1])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            body = data[start:]
            self.send_response(status)
            self.send_header("X-Repo-Commit", commit)
            self.send_header("ETag", f'"{f.etag}"')
            if f.lfs:
                self.send_header("X-Linked-Etag", f'"{f.sha256}"')
                self.send_header("X-Linked-Size", str(len(f.data)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(body)))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if head:
                return
            cut = hub._take_cut((repo_id, name))
            if cut is not None:
                self.wfile.write(body[: int(len(body) * cut)])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve folders as repos until stopped: ``python -m tests.hub_emulator ORG/NAME=FOLDER ...`` (prints the URL)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    with HubEmulator() as hub:
        for spec in args:
            repo_id, _, folder = spec.partition("=")
            hub.add_repo(repo_id, Path(folder))
        print(hub.url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
