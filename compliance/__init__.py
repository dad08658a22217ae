"""Compliance: rules as data per market and destination, checked on the rendered clip."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "check_clip", "run_checks", "sign_clip", "verify_provenance", "report_to_json", "write_report",
    "repair_hints", "load_rules", "cli_check", "approvals_needed", "record_approval", "require_publishable",
    "gate", "check_with_repairs", "asset_manifest",
]

if TYPE_CHECKING:  # pragma: no cover
    from compliance.approvals import approvals_needed, gate, record_approval, require_publishable
    from compliance.cli import cli_check
    from compliance.repair import check_with_repairs
    from compliance.rights import asset_manifest
    from compliance.engine import check_clip, run_checks
    from compliance.provenance import sign_clip, verify_provenance
    from compliance.report import repair_hints, report_to_json, write_report
    from compliance.rules import load_rules

_WHERE = {
    "check_clip": "compliance.engine", "run_checks": "compliance.engine",
    "sign_clip": "compliance.provenance", "verify_provenance": "compliance.provenance",
    "report_to_json": "compliance.report", "write_report": "compliance.report", "repair_hints": "compliance.report",
    "load_rules": "compliance.rules", "cli_check": "compliance.cli",
    "approvals_needed": "compliance.approvals", "record_approval": "compliance.approvals",
    "require_publishable": "compliance.approvals", "gate": "compliance.approvals",
    "check_with_repairs": "compliance.repair", "asset_manifest": "compliance.rights",
}


def __getattr__(name: str) -> Any:
    """Import the public functions on first use so ``import compliance`` stays fast."""
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)
