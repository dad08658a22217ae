"""A model's rights from its model card: the ``license:`` front matter of README.md beside model_index.json.

Hugging Face model cards carry the licence as YAML front matter (``license: apache-2.0``, or
``license: other`` with ``license_name`` and ``license_link``). That is where a seller, and LIC-1,
reads whether a model's output may be used in an ad. The card is read from the model folder
itself: a local folder, or the snapshot folder of the local Hugging Face cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CARD_FILE = "README.md"


def front_matter(path: Path) -> dict[str, Any]:
    """The YAML front matter of a model card (``---`` ... ``---`` at its top), or {} when it has none."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    except StopIteration:
        return {}
    try:
        data = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _org(repo_id: Any) -> str | None:
    if isinstance(repo_id, list):
        repo_id = repo_id[0] if repo_id else None
    if isinstance(repo_id, str) and repo_id.count("/") == 1 and not repo_id.startswith((".", "/", "~")):
        return repo_id.split("/", 1)[0]
    return None


def model_rights(name: str, path: Path, revision: str) -> dict[str, Any]:
    """The asset-manifest entry of a model: source, licence and owner read from its model card.

    The licence is left out when the card names none, so LIC-1 blocks the model by name and says
    why; ``license: other`` is recorded by its ``license_name`` (the words a licence list matches).
    """
    card_path = Path(path) / CARD_FILE
    card = front_matter(card_path)
    entry: dict[str, Any] = {"kind": "model", "name": name, "source": f"{name} (revision {revision})"}
    license_id = card.get("license")
    if isinstance(license_id, list):
        license_id = ", ".join(str(x) for x in license_id)
    if license_id and str(license_id).casefold() == "other":
        license_id = card.get("license_name") or "other (see license_link)"
    if license_id:
        entry["license"] = str(license_id)
    if card.get("license_link"):
        entry["license_link"] = str(card["license_link"])
    # Hugging Face cards name no owner: the card's own field, else the organisation of the Hub id
    # (of this model, or of the model it was made from).
    owner = card.get("owner") or card.get("licensor") or _org(name) or _org(card.get("base_model"))
    entry["owner"] = str(owner) if owner else f"the authors named in {card_path}"
    if not card_path.is_file():
        fetch = f"`hf download {name} {CARD_FILE}`" if _org(name) else f"add one with a `license:` line"
        entry["note"] = f"no model card ({CARD_FILE}) in {path}: {fetch}"
    elif not license_id:
        entry["note"] = f"its model card {card_path} has no `license:` line"
    return entry


def tiny_card(family: str, license_id: str = "apache-2.0") -> str:
    """The README.md model card of a tiny random pipeline: its licence is productreel's own."""
    return (
        "---\n"
        f"license: {license_id}\n"
        "owner: productreel (random weights made on this machine)\n"
        "library_name: diffusers\n"
        "pipeline_tag: image-to-video\n"
        f"tags: [productreel-tiny, {family}]\n"
        "---\n\n"
        f"# Tiny random {family} pipeline\n\n"
        "Made by `productreel models tiny` for smoke tests: seeded random weights, no training data, so the\n"
        "pictures are noise. The weights are productreel's own and carry its licence.\n"
    )
