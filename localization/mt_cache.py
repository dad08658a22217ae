"""The translation cache: machine translations kept by (source text, languages, model, revision).

A small SQLite file (``<PRODUCTREEL_CACHE_DIR>/translations.sqlite``, default
~/.cache/productreel) that every run and every worker process on the machine shares, so a rerun,
another market of the same language or another product with the same sentence translates nothing
it translated before. A new model or revision is a new key: its translations are made afresh.

Each write is one transaction (SQLite's journal makes it atomic); readers never see half a batch.
A cache that cannot be opened (a read-only disk, a damaged file) is said once and skipped: a run
never fails for it.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "translations.sqlite"
_CHUNK = 400  # SQLite's host-parameter limit is 999 on old builds; 400 texts + 4 key columns stay below
_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    source TEXT NOT NULL,
    src TEXT NOT NULL,
    tgt TEXT NOT NULL,
    model TEXT NOT NULL,
    revision TEXT NOT NULL,
    text TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (model, revision, src, tgt, source)
) WITHOUT ROWID
"""
_said: set[str] = set()


class TranslationCache:
    """Translations of one machine's runs, in a SQLite file; safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser()

    @classmethod
    def in_folder(cls, folder: Path) -> TranslationCache:
        """The cache file in ``folder`` (the settings' cache_dir)."""
        return cls(Path(folder).expanduser() / FILE_NAME)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction (committed on success, rolled back on an error), then closed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # readers do not wait for a writer in another process
            with conn:
                conn.execute(_SCHEMA)
                yield conn

    def _unavailable(self, exc: Exception) -> None:
        key = str(self.path)
        if key not in _said:
            _said.add(key)
            log.warning("translation cache %s cannot be used (%s); translating without it", self.path, exc)

    def get_many(self, texts: Iterable[str], src: str, tgt: str, model: str, revision: str) -> dict[str, str]:
        """The cached translations of ``texts`` (source text -> translation) for this model and revision."""
        wanted = list(dict.fromkeys(texts))
        if not wanted:
            return {}
        found: dict[str, str] = {}
        try:
            with self._transaction() as conn:
                for start in range(0, len(wanted), _CHUNK):
                    chunk = wanted[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = conn.execute(
                        f"SELECT source, text FROM translations WHERE model=? AND revision=? AND src=? AND tgt=? AND source IN ({marks})",
                        (model, revision, src, tgt, *chunk),
                    )
                    found.update(rows.fetchall())
        except (sqlite3.Error, OSError) as exc:
            self._unavailable(exc)
            return {}
        return found

    def put_many(self, translations: dict[str, str], src: str, tgt: str, model: str, revision: str) -> None:
        """Record ``translations`` (source text -> translation) in one transaction."""
        if not translations:
            return
        now = time.time()
        try:
            with self._transaction() as conn:  # commits on success, rolls back on an error
                conn.executemany(
                    "INSERT OR REPLACE INTO translations (source, src, tgt, model, revision, text, created) VALUES (?,?,?,?,?,?,?)",
                    [(s, src, tgt, model, revision, t, now) for s, t in translations.items()],
                )
        except (sqlite3.Error, OSError) as exc:
            self._unavailable(exc)

    def count(self) -> int:
        """How many translations the cache holds (all models)."""
        try:
            with self._transaction() as conn:
                return int(conn.execute("SELECT COUNT(*) FROM translations").fetchone()[0])
        except (sqlite3.Error, OSError) as exc:
            self._unavailable(exc)
            return 0
