"""Reading a clip's C2PA manifest store: a leaf module, so the check context and the signer both import it."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["active_manifest", "manifest_source_types", "read_manifest"]


def read_manifest(path: Path) -> dict | None:
    """The C2PA manifest store as a dict (with validation_state), or None when the file carries none."""
    import c2pa

    try:
        with c2pa.Reader(str(path)) as reader:
            store = json.loads(reader.json())
            store.setdefault("validation_state", reader.get_validation_state())
            return store
    except c2pa.C2paError as exc:
        text = str(exc)
        if "ManifestNotFound" in text or "no JUMBF" in text or "not found" in text.lower():
            return None
        return {"error": text}
    except Exception as exc:  # unreadable container: the SPEC-1 check reports the file itself
        return {"error": f"{type(exc).__name__}: {exc}"}


def active_manifest(store: dict | None) -> dict | None:
    """The active manifest of a store."""
    if not store or "manifests" not in store:
        return None
    return store["manifests"].get(store.get("active_manifest", ""))


def manifest_source_types(store: dict | None) -> list[str]:
    """digitalSourceType values of every action in the active manifest."""
    man = active_manifest(store)
    if not man:
        return []
    out = []
    for a in man.get("assertions", []):
        if a.get("label", "").startswith("c2pa.actions"):
            for act in a.get("data", {}).get("actions", []):
                if act.get("digitalSourceType"):
                    out.append(act["digitalSourceType"])
    return out
