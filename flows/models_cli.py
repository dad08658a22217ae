"""`productreel models list` and `productreel models pull`: which models each market gets, and the opt-in download.

flows/cli.py registers these on its `models` group; the work is in productreel/model_store.py (the
catalog, the cache lookup) and productreel/model_pull.py (the download).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

KIND_NAMES = {"voice": "voice", "mt": "translation", "video": "video"}


def _markets(codes: str) -> list[Any]:
    from localization.markets import get_markets, load_markets

    wanted = [c.strip() for c in codes.split(",") if c.strip()]
    return get_markets(wanted) if wanted else list(load_markets().values())


def _short(commit: str | None) -> str:
    return commit[:12] if commit else ""


def _entry(choice: Any, role: str) -> dict[str, Any]:
    """One model's row: what it is, its licence, whether it may be used in ads, where it is stored."""
    from productreel import model_store

    ref = model_store.model_ref(choice)
    try:
        folder = model_store.local_dir(choice, verify=False)
        problem = None
    except model_store.ModelIntegrityError as exc:
        folder, problem = None, str(exc)
    commit = model_store.commit_of(choice)
    if folder is not None:
        status = "downloaded"
    elif problem:
        status = "damaged"
    else:
        status = "not downloaded"
    pin = f"pinned {_short(commit)}" if commit else "pinned on first pull"
    return {**ref, "id": choice.id, "role": role, "backend": choice.backend, "why": choice.why,
            "status": status, "path": str(folder) if folder else None, "pin": pin, "problem": problem,
            "commit": commit}


def _named_voice(name: str) -> dict[str, Any]:
    """The voice PRODUCTREEL_VOICE names: a catalog voice, or one of the built-in choices (clips/voices.py)."""
    from productreel import model_store

    choice = model_store.find("voice", name)
    if choice is not None:
        return _entry(choice, "voice")
    known = {
        "mms": ("CC-BY-NC-4.0", False, "MMS-TTS from PRODUCTREEL_VOICE_MODEL: non-commercial, refused for ads"),
        "espeak-ng": ("GPL-3.0-or-later program", True, "espeak-ng, as PRODUCTREEL_VOICE says"),
        "espeak": ("GPL-3.0-or-later program", True, "espeak-ng, as PRODUCTREEL_VOICE says"),
        "silent": ("", True, "no voice-over, as PRODUCTREEL_VOICE says"),
    }
    licence, ads, why = known.get(name, ("", None, "a local voice PRODUCTREEL_VOICE names: record its licence in your "
                                                   "rules file (licenses.assets)"))
    return {"id": name, "status": "set by PRODUCTREEL_VOICE", "path": None, "licence": licence, "ads": ads, "why": why}


def model_rows(markets: list[Any], source_lang: str = "en") -> list[dict[str, Any]]:
    """Per market: the voice, translation model and video model a run would use, and where each is stored."""
    from productreel import model_store
    from productreel.settings import get_settings

    settings = get_settings()
    video = model_store.recommended("video", None)
    video_row = _entry(video, "video") if video else None
    rows = []
    for market in markets:
        lang, _ = model_store.market_language(market)
        row: dict[str, Any] = {"market": market.code, "language": lang}
        # Voice: an explicit PRODUCTREEL_VOICE wins; else the catalog's voice, else espeak-ng.
        voice = model_store.recommended("voice", market)
        if settings.voice and settings.voice != "auto":
            row["voice"] = _named_voice(settings.voice)
        elif voice is not None:
            row["voice"] = _entry(voice, "voice")
        else:
            barred = model_store.recommended("voice", market, ads=False)
            why = f"no voice in the catalog that may voice ads speaks {lang!r}" + (
                f" ({barred.id} is licensed {barred.licence})" if barred is not None else "")
            row["voice"] = {"id": "espeak-ng", "status": "fallback", "path": None, "licence": "GPL-3.0 program",
                            "ads": True, "why": why}
        # Translation: nothing for the source language; PRODUCTREEL_MT_MODEL wins; else the catalog's model.
        mt = model_store.recommended("mt", market, source_lang=source_lang)
        if lang == source_lang.split("-")[0].lower():
            row["mt"] = None
        elif settings.mt_model:
            row["mt"] = {"id": settings.mt_model, "status": "set by PRODUCTREEL_MT_MODEL", "path": None, "licence": "",
                         "ads": None, "why": "the model PRODUCTREEL_MT_MODEL names"}
        elif mt is not None:
            row["mt"] = _entry(mt, "mt")
        else:
            row["mt"] = {"id": None, "status": "none", "path": None, "licence": "", "ads": None,
                         "why": f"no model that may be used in ads translates {source_lang}->{lang}: "
                                "catalog translations only, the rest is flagged L10N-UNTRANSLATED"}
        row["video"] = video_row
        rows.append(row)
    return rows


def missing(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What is not downloaded, per kind: the models, the markets that wait for them, and the command that adds them."""
    out: dict[str, dict[str, Any]] = {}
    for kind in ("voice", "mt"):
        gaps = [r for r in rows if r.get(kind) and r[kind].get("status") in ("not downloaded", "damaged")]
        if gaps:
            codes = ",".join(r["market"] for r in gaps)
            out[kind] = {"models": sorted({r[kind]["id"] for r in gaps}), "markets": [r["market"] for r in gaps],
                         "command": f"productreel models pull {kind} --markets {codes}"}
    video = rows[0].get("video") if rows else None
    if video and video.get("status") in ("not downloaded", "damaged"):
        out["video"] = {"models": [video["id"]], "markets": [], "command": "productreel models pull video",
                        "note": "only for --backend diffusion"}
    return out


def _cell(entry: dict[str, Any] | None) -> tuple[str, str, str, str]:
    """(model, licence, ads, stored) cells of one entry."""
    if entry is None:
        return "-", "", "", "source language: nothing to translate"
    name = escape(str(entry.get("id") or "-"))
    why = escape(entry.get("why") or "")
    model = f"{name}\n[dim]{why}[/]" if why else name
    ads = {True: "[green]yes[/]", False: "[red]no[/]"}.get(entry.get("ads"), "")
    status = entry.get("status")
    if status == "downloaded":
        stored = escape(entry["path"]) + f"\n[dim]{entry.get('pin', '')}[/]"
    elif status in ("not downloaded", "damaged"):
        stored = f"[yellow]{status}[/] [dim]({entry.get('pin', '')})[/]"
        if entry.get("problem"):
            stored += "\n" + escape(entry["problem"])
    else:
        stored = escape(str(status))
    return model, escape(str(entry.get("licence") or "")), ads, stored


def list_command(
    markets: str = typer.Option("", help="Comma-separated market codes (default: every market)."),
    source: str = typer.Option("en", help="Language the catalog is written in (what is translated from)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Per market: the voice, translation model and video model a run would use, where each is stored, its licence, what is missing."""
    rows = model_rows(_markets(markets), source)
    gaps = missing(rows)
    if as_json:
        typer.echo(json.dumps({"markets": rows, "missing": gaps}, indent=2, ensure_ascii=False))
        return
    console = _console()
    table = Table(title="models per market", show_lines=True)
    for col in ("market", "use", "model", "licence", "ads", "stored"):
        table.add_column(col, overflow="fold")
    for row in rows:
        for kind in ("voice", "mt"):
            model, licence, ads, stored = _cell(row[kind])
            table.add_row(f"{row['market']} ({row['language']})" if kind == "voice" else "", KIND_NAMES[kind], model,
                          licence, ads, stored, end_section=(kind == "mt"))
    # The video model is the same for every market: one row under the table, not sixteen.
    video = rows[0]["video"] if rows else None
    if video is not None:
        model, licence, ads, stored = _cell(video)
        table.add_row("every market", "video (--backend diffusion)", model, licence, ads, stored)
    console.print(table)
    if not gaps:
        console.print("every recommended model is downloaded", highlight=False)
    for kind, gap in gaps.items():
        note = f" ({gap['note']})" if gap.get("note") else ""
        console.print(f"missing {KIND_NAMES[kind]}: {', '.join(gap['models'])}{note}; add with: {gap['command']}",
                      highlight=False, soft_wrap=True)


def _choices(kind: str, markets: str, model: str | None, source: str) -> list[Any]:
    from productreel import model_store
    from productreel.errors import InputError

    if model:
        choice = model_store.find(kind, model)
        if choice is None:
            known = ", ".join(c.id for c in model_store.catalog(kind)) or "none"
            raise InputError(f"no {kind} model {model!r} in the catalog (known: {known})", where=str(model_store.catalog_dir()))
        return [choice]
    if kind == "video":
        choice = model_store.recommended("video", None)
        return [choice] if choice else []
    picked: dict[str, Any] = {}
    for market in _markets(markets):
        choice = model_store.recommended(kind, market, source_lang=source)
        if choice is not None:
            picked.setdefault(choice.id, choice)
    return list(picked.values())


class _RichFiles:
    """model_pull's progress, drawn as one rich bar per file."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress

    def file(self, name: str, total: int | None, initial: int) -> Any:
        task = self.progress.add_task(name.rsplit("/", 1)[-1], total=total, completed=initial)
        progress = self.progress

        class Bar:
            def update(self, n: int) -> None:
                progress.advance(task, n)

            def close(self) -> None:
                progress.update(task, visible=True)

        return Bar()


def pull_command(
    kind: str = typer.Argument(..., help="voice, mt or video."),
    markets: str = typer.Option("", help="Comma-separated market codes whose recommended models to pull (default: every market)."),
    model: Optional[str] = typer.Option(None, "--model", help="One catalog model by its id instead of the recommended ones."),
    source: str = typer.Option("en", help="Language the catalog is written in (mt: what is translated from)."),
) -> None:
    """Download the recommended models into the local Hugging Face cache, pinned and checked (your opt-in to downloads)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    from productreel import model_pull, model_store
    from productreel.errors import ProductreelError

    console, err = _console(), Console(stderr=True)
    if kind not in KIND_NAMES:
        err.print(f"productreel: models pull takes voice, mt or video, not {kind!r}", style="red", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    try:
        choices = _choices(kind, markets, model, source)
    except ProductreelError as exc:
        err.print(f"productreel: {exc}", style="red", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    if not choices:
        console.print(f"nothing to pull: no {KIND_NAMES[kind]} model in the catalog that may be used in ads "
                      f"fits {markets or 'these markets'} (see `productreel models list`)", highlight=False)
        return
    failed = 0
    for choice in choices:
        if not choice.ads:
            err.print(f"note: {model_store.refuse_for_ads(choice)}; pulled for other uses only", style="yellow", highlight=False, soft_wrap=True)
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      TimeRemainingColumn(), console=err, transient=True) as bar:
            try:
                result = model_pull.pull(choice, _RichFiles(bar))
            except ProductreelError as exc:
                failed += 1
                err.print(f"productreel: {exc}", style="red", highlight=False, soft_wrap=True)
                continue
        size = sum(f["size"] for f in result.files.values())
        fetched = "already in the cache" if not result.downloaded else f"{_mb(result.downloaded)} downloaded" + (
            f", {_mb(result.resumed)} resumed from an earlier pull" if result.resumed else "")
        console.print(f"{choice.id}: {choice.repo} at {_short(result.commit)}, {len(result.files)} file(s), {_mb(size)} "
                      f"({fetched}), sha256 checked -> {result.path}", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def _console() -> Console:
    # Piped output (CI logs, files) gets a wide table instead of rich's 80-column default.
    return Console() if sys.stdout.isatty() else Console(width=160)


def register(models_app: typer.Typer) -> None:
    """Add `list` and `pull` to the `productreel models` group."""
    models_app.command("list")(list_command)
    models_app.command("pull")(pull_command)


def demo_hint(codes: list[str], source_lang: str = "en") -> str | None:
    """One line for the end of `productreel demo`: what `models pull` would add for these markets, or None."""
    from productreel.errors import ProductreelError

    try:
        gaps = missing(model_rows(_markets(",".join(codes)), source_lang))
    except ProductreelError:
        return None  # a catalog problem is `models list`'s to report, not the demo's last line
    parts = []
    for kind, what in (("voice", "a neural voice"), ("mt", "translated copy")):
        if kind in gaps:
            parts.append(f"{what} for {', '.join(gaps[kind]['markets'])} (`{gaps[kind]['command']}`)")
    if not parts:
        return None
    return "models pull would add " + " and ".join(parts) + "; `productreel models list` shows every market"


# Voices that are not catalog entries: the fallback, and the backend PRODUCTREEL_VOICE=mms names.
_OTHER_VOICES = (
    ("voice", "espeak-ng", "espeak-ng (Debian package; the fallback)", "GPL-3.0-or-later (the program; its speech is not covered)",
     True, ""),
    ("voice", "mms", "facebook/mms-tts-* (`PRODUCTREEL_VOICE=mms`)", "CC-BY-NC-4.0", False, "Meta (MMS)"),
)


def licence_table() -> str:
    """The README's licence table, in Markdown, from the model catalogs: one row per backend, repo, licence and use.

    Catalog entries that share all of these (the Kokoro voices of one repo) share a row.
    """
    from productreel import model_store

    rows: list[tuple[str, str, str, str, bool, str]] = list(_OTHER_VOICES)
    groups: dict[tuple[str, str, str, str, bool], list[Any]] = {}
    for kind in model_store.KINDS:
        for choice in model_store.catalog(kind):
            groups.setdefault((kind, choice.backend, choice.repo, choice.licence, choice.ads), []).append(choice)
    for (kind, backend, repo, licence, ads), choices in groups.items():
        ids = ", ".join(c.id for c in choices)
        credits = list(dict.fromkeys(c.attribution for c in choices if c.attribution))
        attributions = credits[0] + (f"; more per model in model_catalog/{kind}.yaml" if len(credits) > 1 else "") \
            if credits else ""
        rows.append((kind, backend, f"`{repo}` ({ids})", licence, ads, attributions))
    lines = ["| use | backend | checkpoint (Hugging Face repo) | licence | may be used in ads | attribution |",
             "|---|---|---|---|---|---|"]
    for kind, backend, what, licence, ads, attribution in rows:
        cells = (KIND_NAMES[kind], backend, what, licence, "yes" if ads else "no", attribution or "-")
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
