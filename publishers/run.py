"""Publish a finished run: read ``<out>/summary.json`` and the ledger, publish what passed, report each clip."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from productreel import atomic
from productreel.errors import InputError, ProductreelError
from productreel.ledger import Ledger
from productreel.models import Destination, JobOutcome, Product, PublishReceipt, RenderedClip
from productreel.settings import Settings

from publishers.base import now, redact


@dataclass
class PublishResult:
    """One job of the run and what publishing did with it."""

    handle: str
    market: str
    kind: str
    format: str
    receipt: PublishReceipt

    @property
    def status(self) -> str:
        """published, replaced, unchanged, failed, skipped or dry-run."""
        return self.receipt.status

    def row(self) -> dict[str, str]:
        """A summary-table row."""
        r = self.receipt
        return {"clip": f"{self.handle}/{self.market}/{self.kind}/{self.format}", "status": r.status,
                "where": r.url or r.path or r.remote_id, "detail": r.detail}


def publish_run(
    out_dir: Path | str,
    to: str = "folder",
    *,
    dry_run: bool = False,
    ledger: Ledger | None = None,
    options: Mapping[str, Any] | None = None,
    products: Mapping[str, Product] | None = None,
    require_approval: bool | None = None,
    secrets: Mapping[str, str] | None = None,
) -> list[PublishResult]:
    """Publish every clip of a finished run that passed compliance (and was approved when approval is required).

    ``require_approval`` None (the default) requires it when the run recorded any decision (a campaign
    run pauses for approval and records one for every clip). ``products`` maps handles to catalog products; without it each product is rebuilt from the
    clip's metadata sidecar (its id and title), which the storefront publishers resolve by id or handle.
    """
    from publishers.registry import publish  # imported when used: the registry imports every publisher

    out = Path(out_dir).resolve()
    summary_path = out / "summary.json"
    try:
        data = json.loads(summary_path.read_text(encoding="utf-8"))
        outcomes = [JobOutcome.model_validate(row) for row in data.get("jobs") or []]
    except FileNotFoundError:
        raise InputError(f"no finished run in {out}: summary.json not found (run `productreel run` first)") from None
    except ValueError as exc:
        raise InputError(f"{summary_path} is not a run summary: {' '.join(str(exc).split())[:200]}") from exc
    ledger = ledger or Ledger(Settings().ledger(out))
    destination = Destination(name=to, options=dict(options or {}), dry_run=dry_run)
    jobs = [o for o in outcomes if o.market and o.kind]  # not catalog problem rows
    if require_approval is None:
        require_approval = any(o.job_key and ledger.approval(o.job_key) for o in jobs)
    results: list[PublishResult] = []
    for job in jobs:
        results.append(_publish_job(job, destination, ledger, out, products or {}, require_approval, secrets, publish))
    write_report(out / f"publish-{to}.json", results)
    return results


def _publish_job(job: JobOutcome, destination: Destination, ledger: Ledger, out: Path,
                 products: Mapping[str, Product], require_approval: bool, secrets: Mapping[str, str] | None,
                 publish: Any) -> PublishResult:
    key = job.job_key

    def result(status: str, detail: str = "", receipt: PublishReceipt | None = None) -> PublishResult:
        receipt = receipt or PublishReceipt(destination=destination.name, job_key=key, status=status, detail=detail)
        return PublishResult(job.handle, job.market, job.kind, job.format, receipt)

    if job.status.value == "failed":
        return result("skipped", f"render failed: {job.error}".rstrip(": "))
    if job.verdict == "blocked" or job.verdict is None:
        return result("skipped", "blocked by compliance" if job.verdict == "blocked" else f"not publishable ({job.status.value})")
    if not key or not job.clip:
        return result("skipped", "the run recorded no clip for this job")
    approval = ledger.approval(key)
    if job.verdict == "rejected" or (approval and approval.get("decision") == "rejected"):
        who = (approval or {}).get("who") or "a reviewer"
        return result("skipped", f"rejected by {who}: {(approval or {}).get('why') or ''}".rstrip(": "))
    if (require_approval or job.needs_approval) and not (approval and approval.get("decision") == "approved"):
        return result("skipped", "awaiting approval")
    clip = job.rendered_clip()
    product = products.get(job.handle) or product_from_clip(clip)
    try:
        receipt = publish(clip, product, destination, ledger=ledger, out_dir=out, secrets=secrets)
    except ProductreelError as exc:
        message = redact(str(exc).replace("\n", " "), (secrets or {}).values())
        return result("failed", message)
    return result(receipt.status, receipt=receipt)


def product_from_clip(clip: RenderedClip) -> Product:
    """A Product rebuilt from the clip's metadata sidecar: the catalog id, handle and on-screen title."""
    meta: dict[str, Any] = {}
    sidecar = Path(clip.video).with_suffix(".json")
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    storyboard = meta.get("storyboard") or {}
    product_id = str((storyboard.get("metadata") or {}).get("product_id") or clip.product_handle)
    title = clip.product_handle
    for scene in storyboard.get("scenes") or []:
        titles = [o.get("text") for o in scene.get("overlays") or [] if o.get("role") == "title" and o.get("text")]
        if titles:
            title = titles[0]
            break
    return Product(id=product_id, handle=clip.product_handle, title=title)


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """Destination options from KEY=VALUE strings: JSON values as JSON, "a,b" as a list, the rest as text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"destination option {pair!r} is not KEY=VALUE")
        try:
            parsed: Any = json.loads(value)
        except ValueError:
            parsed = [v.strip() for v in value.split(",") if v.strip()] if "," in value and "://" not in value else value
        options[key.strip()] = parsed
    return options


def counts(results: list[PublishResult]) -> dict[str, int]:
    """How many clips ended in each status."""
    return dict(Counter(r.status for r in results))


def write_report(path: Path, results: list[PublishResult]) -> None:
    """Write the publish report JSON atomically."""
    data = {"written_at": now().isoformat(), "counts": counts(results),
            "clips": [r.row() | {"job_key": r.receipt.job_key, "remote_id": r.receipt.remote_id} for r in results]}
    atomic.write_json(path, data)
