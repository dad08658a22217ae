"""The folder publisher (default): a stable layout on disk or on any fsspec object store.

Layout: ``<base>/<market>/<handle>/<kind>-<format>.mp4`` plus ``.srt``, ``.vtt``, the poster
(``.jpg``) and ``<kind>-<format>.receipt.json``. ``<base>`` is ``<out>/published`` unless the
destination names an fsspec URL (``options["url"]``: ``file:///srv/videos``, ``s3://bucket/videos``
when s3fs is installed). The receipt file is written last, so its presence means the set is complete.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from productreel import atomic
from productreel.errors import InputError, PublishRejected, TransientError
from productreel.ledger import Ledger
from productreel.models import Destination, Product, PublishReceipt, RenderedClip

from publishers.base import (
    already_published, clip_stem, format_slug, live_clips, now, receipt_dict, record_taken_down, require_clip_file,
    take_down_summary,
)


class FolderPublisher:
    """Copies approved clips into a stable folder layout, atomically, with a receipt per clip."""

    name = "folder"

    def publish(
        self, clip: RenderedClip, product: Product, destination: Destination, *, ledger: Ledger, out_dir: Path
    ) -> PublishReceipt:
        """Copy the clip and its sidecars to the layout; "unchanged" when this job key is already there."""
        dest_name = destination.name or self.name
        done = already_published(ledger, clip.job_key, dest_name)
        if done is not None:
            return done
        store = _Store(destination.options.get("url") or (Path(out_dir) / "published"))
        rel_dir = f"{clip.market}/{clip.product_handle}"
        stem = clip_stem(clip)
        video_rel = f"{rel_dir}/{stem}.mp4"
        receipt_rel = f"{rel_dir}/{stem}.receipt.json"
        url = _public_url(destination.options.get("base_url"), video_rel)

        require_clip_file(clip, "folder")
        previous = store.read_json(receipt_rel)
        previous_key = (previous or {}).get("job_key")
        if destination.dry_run:
            return PublishReceipt(
                destination=dest_name,
                job_key=clip.job_key,
                status="dry-run",
                path=store.display(video_rel),
                url=url,
                detail="would replace " + previous_key if previous_key and previous_key != clip.job_key else "",
            )
        if previous_key == clip.job_key and store.exists(video_rel):
            # A previous run copied everything but died before the ledger heard of it: adopt, don't rewrite.
            receipt = PublishReceipt(
                destination=dest_name,
                job_key=clip.job_key,
                status="unchanged",
                path=store.display(video_rel),
                url=url,
                detail="found in the folder",
                published_at=now(),
            )
            ledger.record_receipt(receipt.model_copy(update={"status": "published"}))
            return receipt

        files: dict[str, str] = {}
        sidecars = {".srt": clip.srt, ".vtt": clip.vtt, ".jpg": clip.poster}
        for suffix, src in sidecars.items():
            target = f"{rel_dir}/{stem}{suffix}"
            if src is not None and Path(src).is_file():
                store.put(Path(src), target)
                files[suffix.lstrip(".")] = store.display(target)
            else:
                store.remove(target)  # a stale sidecar of the clip this one replaces
        store.put(Path(clip.video), video_rel)
        files["mp4"] = store.display(video_rel)

        status = "replaced" if previous_key and previous_key != clip.job_key else "published"
        receipt = PublishReceipt(
            destination=dest_name,
            job_key=clip.job_key,
            status=status,
            path=store.display(video_rel),
            url=url,
            detail=f"replaced {previous_key}" if status == "replaced" else "",
            published_at=now(),
        )
        record: dict[str, Any] = receipt_dict(receipt) | {
            "product_id": product.id,
            "handle": clip.product_handle,
            "market": clip.market,
            "kind": clip.kind,
            "format": clip.format,
            "files": files,
        }
        store.write_text(receipt_rel, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        ledger.record_receipt(receipt)
        return receipt

    def take_down(self, product: Product, destination: Destination, *, ledger: Ledger, out_dir: Path) -> PublishReceipt:
        """Delete the product's clips and sidecars from the layout (the receipt file first: no set looks complete)."""
        dest = destination.name or self.name
        live = live_clips(ledger, product.handle, dest)
        if not live:
            return take_down_summary(dest, product, [], "no clip of it is in the folder")
        store = _Store(destination.options.get("url") or (Path(out_dir) / "published"))
        removed = []
        for row, _receipt in live:
            stem = f"{row['market']}/{product.handle}/{row['kind']}-{format_slug(row['format'])}"
            for suffix in (".receipt.json", ".mp4", ".srt", ".vtt", ".jpg"):
                store.remove(stem + suffix)
            removed.append(store.display(stem + ".mp4"))
        detail = f"removed {len(removed)} clip(s) from the folder"
        taken = [record_taken_down(ledger, receipt, detail) for _, receipt in live]
        return take_down_summary(dest, product, taken, detail)


def _public_url(base_url: str | None, rel: str) -> str:
    # Only a seller-given public base makes a URL (a CDN in front of the bucket); a path is not a URL.
    return f"{base_url.rstrip('/')}/{rel}" if base_url else ""


class _Store:
    """A base folder on the local disk (atomic renames) or on an fsspec filesystem (atomic object PUTs)."""

    def __init__(self, base: str | Path) -> None:
        import fsspec

        base_str = str(base)
        try:
            self.fs, root = fsspec.core.url_to_fs(base_str)
        except (ImportError, ValueError) as exc:
            raise InputError(f"cannot open {base_str}: {exc}", where="folder") from exc
        self.local = "file" in _protocols(self.fs)
        self.root = Path(root) if self.local else root.rstrip("/")

    def _path(self, rel: str) -> Any:
        return self.root / rel if self.local else f"{self.root}/{rel}"

    def display(self, rel: str) -> str:
        """Where ``rel`` lives, as the seller would type it."""
        if self.local:
            return str(self._path(rel))
        return self.fs.unstrip_protocol(self._path(rel))

    def exists(self, rel: str) -> bool:
        """True when ``rel`` exists."""
        return Path(self._path(rel)).is_file() if self.local else bool(self.fs.exists(self._path(rel)))

    def read_json(self, rel: str) -> dict[str, Any] | None:
        """The JSON object at ``rel``, or None when missing or unreadable."""
        try:
            if self.local:
                raw = Path(self._path(rel)).read_text(encoding="utf-8")
            else:
                raw = self.fs.cat_file(self._path(rel)).decode("utf-8")
            data = json.loads(raw)
        except (FileNotFoundError, OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, src: Path, rel: str) -> None:
        """Copy a local file to ``rel`` so readers never see half a file."""
        try:
            if self.local:
                atomic.copy_file(src, self._path(rel))
            else:
                # An object store PUT is all-or-nothing, so no temp name is needed (and there is no rename).
                self.fs.makedirs(self._path(rel).rsplit("/", 1)[0], exist_ok=True)
                self.fs.put_file(str(src), self._path(rel))
        except PermissionError as exc:
            raise PublishRejected(f"cannot write {self.display(rel)}: {exc}", where="folder") from exc
        except OSError as exc:
            raise TransientError(f"cannot write {self.display(rel)}: {exc}", where="folder") from exc

    def write_text(self, rel: str, text: str) -> None:
        """Write text to ``rel`` atomically."""
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".json", delete=False) as tmp:
            tmp.write(text)
        try:
            self.put(Path(tmp.name), rel)
        finally:
            Path(tmp.name).unlink(missing_ok=True)

    def remove(self, rel: str) -> None:
        """Delete ``rel`` when it exists."""
        try:
            if self.local:
                Path(self._path(rel)).unlink(missing_ok=True)
            elif self.fs.exists(self._path(rel)):
                self.fs.rm_file(self._path(rel))
        except OSError:
            pass  # a leftover sidecar is harmless; the receipt names the files that belong to the clip


def _protocols(fs: Any) -> set[str]:
    proto = fs.protocol
    return set(proto) if isinstance(proto, (tuple, list)) else {proto}
