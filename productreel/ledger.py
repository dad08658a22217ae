"""The run ledger: one row per job, its key, status, outputs, findings and publish receipts.

SQLAlchemy Core over a SQLite file by default, or a PostgreSQL URL when several
workers share it. A rerun skips jobs whose key is unchanged; a publish is never
repeated for a receipt already recorded; each publish step is recorded so a
crashed publish resumes from where it stopped.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine

from productreel.models import JobOutcome, JobStatus, PublishReceipt

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(400), primary_key=True),  # handle/market/kind/format
    Column("key", String(64), nullable=False),
    Column("handle", String(255), nullable=False),
    Column("market", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("format", String(8), nullable=False),
    Column("status", String(16), nullable=False),  # a JobStatus: running, rendered, blocked, failed
    Column("outputs", JSON, default=dict),
    Column("findings", JSON, default=list),
    Column("error", Text, default=""),
    Column("updated_at", DateTime(timezone=True)),
    Column("outcome", JSON),  # the JobOutcome, stored once; every reader takes it as it is
)

receipts = Table(
    "receipts",
    metadata,
    Column("job_key", String(64), primary_key=True),
    Column("destination", String(64), primary_key=True),
    Column("receipt", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

publish_steps = Table(
    "publish_steps",
    metadata,
    Column("job_key", String(64), primary_key=True),
    Column("destination", String(64), primary_key=True),
    Column("step", String(32), primary_key=True),  # staged, uploaded, attached, ready, ...
    Column("data", JSON, default=dict),
    Column("created_at", DateTime(timezone=True)),
)

approvals = Table(
    "approvals",
    metadata,
    Column("job_key", String(64), primary_key=True),
    Column("decision", String(16), nullable=False),  # approved, rejected
    Column("who", String(255), default=""),
    Column("why", Text, default=""),
    Column("created_at", DateTime(timezone=True)),
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Ledger:
    """The job ledger behind a SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        _add_missing_columns(self.engine)

    # --- jobs -------------------------------------------------------------
    def job(self, job_id: str) -> dict[str, Any] | None:
        """The row of one job, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.job_id == job_id)).mappings().first()
            return dict(row) if row else None

    def all_jobs(self) -> list[dict[str, Any]]:
        """Every job row."""
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(jobs).order_by(jobs.c.job_id)).mappings()]

    def is_current(self, job_id: str, key: str) -> bool:
        """True when the job finished with this key (rendered or blocked)."""
        row = self.job(job_id)
        return bool(row and row["key"] == key and row["status"] in FINISHED)

    def outcome(self, job_id: str) -> JobOutcome | None:
        """The outcome recorded for a job (None when it never finished or was recorded before outcomes existed)."""
        row = self.job(job_id)
        if not row or not row.get("outcome"):
            return None
        return JobOutcome.model_validate(row["outcome"])

    def record_outcome(self, outcome: JobOutcome) -> None:
        """Store a job's outcome (one row per job; its status, key and error are columns for queries)."""
        data = json.loads(outcome.model_dump_json())
        self.record_job(outcome.job_id, outcome.job_key or "-", outcome.status.value, error=outcome.error, outcome=data)

    def record_job(
        self,
        job_id: str,
        key: str,
        status: str,
        *,
        outputs: dict[str, Any] | None = None,
        findings: list[dict[str, Any]] | None = None,
        error: str = "",
        outcome: dict[str, Any] | None = None,
    ) -> None:
        """Insert or update one job's row."""
        handle, market, kind, fmt = job_id.split("/", 3)
        values = dict(
            key=key,
            handle=handle,
            market=market,
            kind=kind,
            format=fmt,
            status=status,
            outputs=_jsonable(outputs or {}),
            findings=_jsonable(findings or []),
            error=error,
            outcome=outcome,
            updated_at=_now(),
        )
        with self.engine.begin() as conn:
            updated = conn.execute(jobs.update().where(jobs.c.job_id == job_id).values(**values)).rowcount
            if not updated:
                conn.execute(jobs.insert().values(job_id=job_id, **values))

    def set_status(self, job_id: str, status: str) -> None:
        """Change only a job's status."""
        with self.engine.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.job_id == job_id).values(status=status, updated_at=_now()))

    # --- publishing -------------------------------------------------------
    def receipt(self, job_key: str, destination: str) -> PublishReceipt | None:
        """The receipt already recorded for this job key at this destination."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(receipts.c.receipt).where(
                    (receipts.c.job_key == job_key) & (receipts.c.destination == destination)
                )
            ).first()
        return PublishReceipt.model_validate(row[0]) if row else None

    def all_receipts(self, destination: str | None = None) -> list[PublishReceipt]:
        """Every recorded receipt, optionally for one destination."""
        query = select(receipts.c.receipt)
        if destination:
            query = query.where(receipts.c.destination == destination)
        with self.engine.connect() as conn:
            return [PublishReceipt.model_validate(r[0]) for r in conn.execute(query)]

    def record_receipt(self, receipt: PublishReceipt) -> None:
        """Record (or replace) the receipt of a publish."""
        data = json.loads(receipt.model_dump_json())
        with self.engine.begin() as conn:
            conn.execute(
                receipts.delete().where(
                    (receipts.c.job_key == receipt.job_key) & (receipts.c.destination == receipt.destination)
                )
            )
            conn.execute(
                receipts.insert().values(
                    job_key=receipt.job_key, destination=receipt.destination, receipt=data, created_at=_now()
                )
            )

    def publish_steps(self, job_key: str, destination: str) -> dict[str, dict[str, Any]]:
        """The steps of a publish done so far: step name -> its data."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(publish_steps.c.step, publish_steps.c.data).where(
                    (publish_steps.c.job_key == job_key) & (publish_steps.c.destination == destination)
                )
            )
            return {r[0]: r[1] or {} for r in rows}

    def record_step(self, job_key: str, destination: str, step: str, data: dict[str, Any] | None = None) -> None:
        """Record one finished step of a publish (idempotent)."""
        with self.engine.begin() as conn:
            conn.execute(
                publish_steps.delete().where(
                    (publish_steps.c.job_key == job_key)
                    & (publish_steps.c.destination == destination)
                    & (publish_steps.c.step == step)
                )
            )
            conn.execute(
                publish_steps.insert().values(
                    job_key=job_key, destination=destination, step=step, data=_jsonable(data or {}), created_at=_now()
                )
            )

    def all_publish_steps(self) -> list[dict[str, Any]]:
        """Every recorded publish step (job_key, destination, step, data): where a clip went on which remote product."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(publish_steps.c.job_key, publish_steps.c.destination, publish_steps.c.step,
                                       publish_steps.c.data)).mappings()
            return [dict(r) for r in rows]

    def record_take_down(self, receipt: PublishReceipt) -> None:
        """Record that a clip was taken down: its receipt becomes the "taken-down" one, its publish steps are forgotten.

        A later publish of the same job key then starts from nothing (it is no longer live anywhere).
        """
        self.record_receipt(receipt)
        with self.engine.begin() as conn:
            conn.execute(publish_steps.delete().where(
                (publish_steps.c.job_key == receipt.job_key) & (publish_steps.c.destination == receipt.destination)))

    # --- approvals --------------------------------------------------------
    def approval(self, job_key: str) -> dict[str, Any] | None:
        """The approval decision recorded for a job key."""
        with self.engine.connect() as conn:
            row = conn.execute(select(approvals).where(approvals.c.job_key == job_key)).mappings().first()
            return dict(row) if row else None

    def record_approval(self, job_key: str, decision: str, who: str = "", why: str = "") -> None:
        """Record who approved or rejected a clip, and why."""
        with self.engine.begin() as conn:
            conn.execute(approvals.delete().where(approvals.c.job_key == job_key))
            conn.execute(
                approvals.insert().values(job_key=job_key, decision=decision, who=who, why=why, created_at=_now())
            )


FINISHED = {JobStatus.RENDERED.value, JobStatus.BLOCKED.value}


def _add_missing_columns(engine: Engine) -> None:
    """Add columns a ledger made by an older productreel lacks (create_all makes tables, never columns)."""
    from sqlalchemy import inspect, text

    have = {c["name"] for c in inspect(engine).get_columns("jobs")}
    with engine.begin() as conn:
        for column in jobs.columns:
            if column.name not in have:
                conn.execute(text(f"ALTER TABLE jobs ADD COLUMN {column.name} {column.type.compile(engine.dialect)}"))


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets parallel task threads read while one writes; busy_timeout waits instead of failing.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@functools.lru_cache(maxsize=16)
def open_ledger(url: str) -> Ledger:
    """The one Ledger (engine, pool, tables checked once) of this process for ``url``; tasks share it."""
    return Ledger(url)
