"""The `productreel` command: starts the flows, or calls one stage directly."""

from __future__ import annotations

import os

# Before Prefect is imported: no analytics (its telemetry write races the ephemeral
# server's SQLite and logs "database is locked"), and only warnings on the console.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Optional  # noqa: E402

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from flows import models_cli as _models_cli  # noqa: E402  (models list / pull)

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Product catalogs into localized, compliance-checked product videos.")
# Piped output (CI logs, files) gets a wide table instead of rich's 80-column default.
console = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True)
NO_SERVER_HELP = "Run in this process even when a `productreel server` runs (also PRODUCTREEL_NO_SERVER=1)."


def use_terminal(terminal: dict[str, Any]) -> None:
    """Print as the terminal of a client whose run `productreel server` runs (flows/submit.py) would show it."""
    global console, err
    size = {"width": int(terminal.get("columns") or 80), "height": int(terminal.get("lines") or 25)}
    console = Console(force_terminal=True, **size) if terminal.get("stdout") else Console(width=160)
    err = Console(stderr=True, force_terminal=True, **size) if terminal.get("stderr") else Console(stderr=True)


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


class _Bar:
    """A rich progress bar fed by flows.progress."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("planning", total=None)

    def planned(self, total: int) -> None:
        self.progress.update(self.task, total=total, description="clips")

    def done(self, job_id: str, status: str) -> None:
        self.progress.advance(self.task)


def _run_batch(flow: Any = None, **params: Any) -> dict[str, Any]:
    """Run a flow (catalog-batch unless given) with a progress bar and a quiet Prefect.

    A catalog-batch run's first jobs start at once (jobs.head_start), while
    Prefect is imported and its API comes up, and the flow takes them over.
    """
    from flows import progress as progress_hook
    from flows.runtime import embedded_api, quiet_prefect
    from jobs import head_start
    from jobs.plan import parallel_jobs

    if flow is None and params.get("backend") != "diffusion" and "://" not in str(params.get("catalog")):
        try:
            head_start.begin(head_start.HeadStart(parallel_jobs()).start(head_start.plan_batch(**params)))
        except Exception:  # noqa: BLE001 - a bad choice is the flow's to report, in its own words
            head_start.end()
    from flows.catalog_batch import catalog_batch

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=False) as bar:
        progress_hook.set_listener(_Bar(bar))
        try:
            with quiet_prefect(), embedded_api():
                return (flow or catalog_batch)(**params)
        except BaseException:
            head_start.end(wait=False)  # a stop or a failure: the jobs still running are not waited for
            raise
        finally:
            head_start.end()
            progress_hook.set_listener(None)


def _findings_cell(findings: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    order = ("BLOCK", "WARN", "FIX", "INFO")
    return ", ".join(f"{counts[s]} {s}" for s in order if s in counts) or "-"


def _print_summary(summary: dict[str, Any]) -> None:
    out = Path(summary["out"])
    table = Table(title="productreel run", show_lines=False)
    for col in ("product", "market", "kind", "format", "status", "findings", "publish", "clip / reason"):
        table.add_column(col, overflow="fold")
    colors = {"rendered": "green", "skipped": "dim", "blocked": "red", "failed": "red"}
    for row in summary["jobs"]:
        status = row["status"]
        blocks = [f"{f['rule']}: {f['message']}" for f in row["findings"] if f["severity"] == "BLOCK"]
        if row["error"]:
            detail = row["error"]
        elif status == "blocked" and blocks:
            detail = blocks[0]
        else:
            detail = os.path.relpath(row["clip"], out) if row["clip"] else ""
        table.add_row(row["handle"], row["market"], row["kind"], row["format"],
                      f"[{colors.get(status, 'white')}]{status}[/]", _findings_cell(row["findings"]),
                      row["publish"], detail)
    console.print(table)
    counts = summary["counts"]
    unchanged = counts.get("skipped", 0)
    console.print(
        f"{counts.get('rendered', 0)} rendered, {unchanged} unchanged (skipped), "
        f"{counts.get('blocked', 0)} blocked, {counts.get('failed', 0)} failed in {summary['seconds']} s"
    )
    notes = summary.get("notes") or []
    if notes:
        shown = "; ".join(notes[:5]) + (f"; and {len(notes) - 5} more in summary.json" if len(notes) > 5 else "")
        console.print(f"not planned: {shown}", style="dim", highlight=False)
    console.print(f"summary: {out / 'summary.json'}   review page: {out / 'index.html'}", highlight=False)
    for line in _next_steps(summary):
        console.print(line, highlight=False)


def _next_steps(summary: dict[str, Any]) -> list[str]:
    """What the seller can do about clips waiting for a person, or about a failure with a traceback, in a line or two."""
    lines = []
    logged = [r for r in summary["jobs"] if r.get("log")]
    if logged:
        lines.append(f"{len(logged)} job(s) failed unexpectedly; their tracebacks are in {Path(summary['out']) / 'logs'} "
                     "(please attach them to a bug report).")
    waiting = [r for r in summary["jobs"] if r.get("needs_approval")]
    if not waiting:
        return lines
    lines.append(f"{len(waiting)} clip(s) wait for approval: look at the review page, then "
                 f"`productreel approve --out {summary['out']} --who NAME --why REASON` (or --reject).")
    untranslated = [f for r in waiting for f in r["findings"] if f["rule"] == "L10N-UNTRANSLATED"]
    pull = sorted({str((f.get("evidence") or {}).get("market") or "") for f in untranslated
                   if "productreel models pull mt" in f["message"]} - {""})
    if pull:
        lines.append(f"Their copy is untranslated: `productreel models pull mt --markets {','.join(pull)}` adds the "
                     "translation models (OPUS-MT, licensed for ads), or add translations to the catalog.")
    elif untranslated:
        lines.append("Their copy is untranslated: add translations to the catalog, or set PRODUCTREEL_MT_MODEL "
                     "to a local translation model folder.")
    if any(f["rule"] == "L10N-MT" and f["severity"] == "WARN" for r in waiting for f in r["findings"]):
        lines.append("Their copy is machine-translated: read it on the review page before approving "
                     "(`machine_translation_needs_approval: false` in a market's file publishes it without waiting).")
    return lines


def _formats(value: str) -> dict[str, list[str]] | None:
    """--formats as the flow takes it: the formats of ads (tutorials keep their 16:9)."""
    from productreel.models import FORMATS

    wanted = _split(value)
    if not wanted:
        return None
    bad = [f for f in wanted if f not in FORMATS]
    if bad:
        err.print(f"productreel: unknown format {bad[0]!r}; choose from {', '.join(FORMATS)}", style="red", highlight=False)
        raise typer.Exit(2)
    return {"ad": wanted}


def _options(pairs: list[str]) -> dict[str, Any] | None:
    """-o KEY=VALUE pairs as destination options; a malformed one is one line and exit 2."""
    from productreel.errors import ProductreelError
    from publishers.run import parse_options

    try:
        return parse_options(pairs) or None
    except ProductreelError as exc:
        err.print(f"productreel: {exc}", style="red", highlight=False)
        raise typer.Exit(2)


def _check_catalog(catalog: str) -> None:
    if "://" not in catalog and not Path(catalog).exists():
        err.print(f"productreel: catalog file not found: {catalog}", style="red", highlight=False)
        raise typer.Exit(2)


@app.command()
def demo(
    out: Path = typer.Option(Path("out/demo"), help="Output folder."),
    limit: int = typer.Option(4, help="Products to render (0 = all)."),
    markets: str = typer.Option("us,de,jp", help="Comma-separated market codes."),
    kinds: str = typer.Option("ad,tutorial", help="Clip kinds."),
    profile: str = typer.Option("full", help="full or tiny (small, short clips for smoke runs)."),
    formats: str = typer.Option("", help="Ad formats, e.g. 9:16,1:1,4:5,16:9 (default: 9:16 ads, 16:9 tutorials)."),
    style: Optional[str] = typer.Option(None, help="Ad style (see `productreel styles`)."),
    no_server: bool = typer.Option(False, "--no-server", help=NO_SERVER_HELP),
) -> None:
    """Render the bundled sample catalog for us, de and jp on the embedded default."""
    from jobs.plan import SAMPLE_CATALOG

    summary = _run_batch(catalog=str(SAMPLE_CATALOG), markets=_split(markets), kinds=_split(kinds),
                         out=str(out), limit=limit, profile=profile, formats=_formats(formats), style=_style(style))
    _print_summary(summary)
    hint = _models_cli.demo_hint(_split(markets))
    if hint:
        console.print(hint, highlight=False, soft_wrap=True)


@app.command()
def run(
    catalog: str = typer.Option(..., help="Catalog file or URL."),
    markets: str = typer.Option("us", help="Comma-separated market codes."),
    kinds: str = typer.Option("ad,tutorial", help="Clip kinds."),
    out: Path = typer.Option(Path("out/run"), help="Output folder."),
    source: Optional[str] = typer.Option(None, help="Catalog kind (guessed from the file when left out)."),
    since: Optional[str] = typer.Option(None, help="Only products updated since this ISO date."),
    limit: int = typer.Option(0, help="Products to render (0 = all)."),
    profile: str = typer.Option("full", help="full or tiny."),
    publish: str = typer.Option("folder", help="Destination(s) to publish to, in order: folder, shopify, woocommerce, youtube, merchant-center (e.g. folder,merchant-center)."),
    backend: str = typer.Option("compose", help="compose (CPU) or diffusion (generated hero shots)."),
    model: Optional[str] = typer.Option(None, help="Diffusion model: a local folder or a cached Hugging Face id."),
    formats: str = typer.Option("", help="Ad formats, e.g. 9:16,1:1,4:5,16:9 (default: 9:16 ads, 16:9 tutorials)."),
    style: Optional[str] = typer.Option(None, help="Ad style (see `productreel styles`)."),
    brand: str = typer.Option("default", help="Brand kit: colours, fonts, logo (clips/brands/NAME.yaml or a YAML path)."),
    option: list[str] = typer.Option([], "--option", "-o", help="Destination option KEY=VALUE for every destination, repeatable (base_url=https://cdn.example.com/videos)."),
    no_server: bool = typer.Option(False, "--no-server", help=NO_SERVER_HELP),
) -> None:
    """Render, check and publish a catalog."""
    _check_catalog(catalog)
    if backend not in {"compose", "diffusion"}:
        err.print(f"productreel: --backend must be compose or diffusion, not {backend!r}", style="red", highlight=False)
        raise typer.Exit(2)
    if backend == "diffusion":
        from productreel.settings import Settings

        model = model or Settings().model
        if not model:
            err.print("productreel: --backend diffusion needs --model DIR (try `productreel models tiny DIR`)", style="red", highlight=False)
            raise typer.Exit(2)
    summary = _run_batch(catalog=catalog, markets=_split(markets), kinds=_split(kinds), out=str(out),
                         limit=limit, source=source, since=since, profile=profile, publish_to=publish,
                         backend=backend, model=model, formats=_formats(formats), style=_style(style), brand=brand,
                         publish_options=_options(option))
    _print_summary(summary)


@app.command("product-changed")
def product_changed(
    product: str = typer.Argument(..., help="The product's id or handle."),
    catalog: str = typer.Option(..., help="Catalog file or URL."),
    markets: str = typer.Option("", help="Comma-separated market codes (default: every configured market)."),
    kinds: str = typer.Option("ad,tutorial", help="Clip kinds."),
    out: Path = typer.Option(Path("out/run"), help="Output folder (the ledger there decides what is unchanged)."),
    source: Optional[str] = typer.Option(None, help="Catalog kind (guessed from the file when left out)."),
    profile: str = typer.Option("full", help="full or tiny."),
    publish: str = typer.Option("folder", help="Destination to publish to."),
    no_server: bool = typer.Option(False, "--no-server", help=NO_SERVER_HELP),
) -> None:
    """Make one product's clips again after an edit: only the jobs whose inputs changed are rendered."""
    from flows.product_changed import product_changed as flow

    _check_catalog(catalog)
    summary = _run_batch(flow, product=product, catalog=catalog, markets=_split(markets) or None, kinds=_split(kinds),
                         out=str(out), source=source, profile=profile, publish_to=publish)
    _print_summary(summary)


@app.command()
def ingest(
    catalog: str = typer.Argument(..., metavar="SOURCE", help="Catalog file, feed file or URL, or store URL."),
    source: Optional[str] = typer.Option(
        None, help="Catalog kind: shopify-csv, shopify, merchant-center, woocommerce, woocommerce-csv, adobe-commerce-csv, table (guessed when left out)."
    ),
    since: Optional[str] = typer.Option(None, help="Only products updated since this ISO date (sources that have dates)."),
    mapping: Optional[Path] = typer.Option(None, help="YAML column mapping for --source table."),
    currency: Optional[str] = typer.Option(None, help="Store currency for sources that do not state it (default USD)."),
    option: list[str] = typer.Option(
        [], "--option", "-o", help="Adapter option KEY=VALUE, e.g. markets=germany=DE,japan=JP or market=us (repeatable)."
    ),
) -> None:
    """Read a catalog and print one JSON object per product (JSON Lines); problems go to stderr, one line each."""
    from catalog_adapters import ingest_to, parse_options
    from productreel.errors import ProductreelError

    try:
        options: dict[str, Any] = parse_options(option)
    except ProductreelError as exc:
        err.print(f"productreel: {exc}", style="red", highlight=False)
        raise typer.Exit(2)
    if mapping is not None:
        options["mapping"] = mapping
    if currency:
        options["currency"] = currency
    raise typer.Exit(ingest_to(sys.stdout, sys.stderr, catalog, source, since, **options))



@app.command()
def campaign(
    tag: str = typer.Option("", help="Products carrying this catalog tag (all products when empty)."),
    markets: str = typer.Option("us", help="Comma-separated market codes."),
    kinds: str = typer.Option("ad", help="Clip kinds."),
    formats: str = typer.Option("9:16", help="Comma-separated formats, e.g. 9:16,1:1."),
    template: str = typer.Option("default", help="Script template set (a folder under templates/, e.g. summer-sale)."),
    brand: str = typer.Option("default", help="Brand kit: colours, fonts, logo (clips/brands/NAME.yaml or a YAML path)."),
    style: Optional[str] = typer.Option(None, help="Ad style (see `productreel styles`)."),
    catalog: Optional[str] = typer.Option(None, help="Catalog file or URL (default: the bundled sample)."),
    out: Path = typer.Option(Path("out/campaign"), help="Output folder."),
    profile: str = typer.Option("full", help="full or tiny."),
    limit: int = typer.Option(0, help="Products to render (0 = every product with the tag)."),
    publish: str = typer.Option("folder", help="Destination to publish approved clips to."),
    yes: bool = typer.Option(False, "--yes", help="Approve every clip that passed its checks without asking."),
    local: bool = typer.Option(False, "--local", help="Run here even when a Prefect server has the campaign deployment."),
    no_server: bool = typer.Option(False, "--no-server", help=NO_SERVER_HELP),
) -> None:
    """Render and check a campaign, ask for approval (Prefect UI on a server, this terminal on a laptop), publish the approved clips."""
    from flows.campaign import CAMPAIGN_DEPLOYMENT, CampaignApproval, ClipDecision, run_campaign_locally
    from flows.orchestration import deployment_available, flow_run_url, trigger_deployment
    from jobs.plan import SAMPLE_CATALOG
    from localization.templating import check_template_set
    from productreel.errors import InputError

    if catalog:
        _check_catalog(catalog)
    try:
        check_template_set(template)  # an unknown set is one line here, not a failure per job
    except InputError as exc:
        err.print(f"productreel: {exc}", style="red", highlight=False)
        raise typer.Exit(2)
    params: dict[str, Any] = dict(tag=tag, markets=_split(markets), kinds=_split(kinds), formats=_split(formats),
                                  template=template, brand=brand, style=_style(style), catalog=catalog or str(SAMPLE_CATALOG),
                                  out=str(out.resolve()), profile=profile, publish_to=publish, limit=limit)
    if not local and deployment_available(CAMPAIGN_DEPLOYMENT):
        run = trigger_deployment(CAMPAIGN_DEPLOYMENT, params)
        console.print(f"campaign started on the Prefect server: {run.name}; approve it in the Prefect UI: {flow_run_url(run.id)}")
        return

    def decide(clips: list[ClipDecision], description: str) -> CampaignApproval:
        import getpass

        from rich.markdown import Markdown

        err.print(Markdown(description))
        decisions = []
        for clip in clips:
            approve = yes or typer.confirm(f"approve {clip.clip}?", default=True, err=True)
            reason = "" if approve else typer.prompt("  reason", default="", show_default=False, err=True)
            decisions.append(ClipDecision(clip=clip.clip, approve=approve, comment=reason))
        return CampaignApproval(clips=decisions, reviewer=getpass.getuser(), comment="approved from the CLI" if yes else "")

    from flows.runtime import embedded_api, quiet_prefect

    with quiet_prefect(), embedded_api():
        summary = run_campaign_locally(decide, approval_poll=1, **params)
    _print_summary(summary)


@app.command()
def publish(
    out: Path = typer.Option(..., help="Output folder of a finished run (its summary.json and ledger)."),
    to: str = typer.Option("folder", "--to", help="shopify, woocommerce, youtube, merchant-center or folder."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be published; change nothing."),
    option: list[str] = typer.Option([], "--option", "-o", help="Destination option KEY=VALUE, repeatable (base_url=..., formats=9:16,1:1)."),
    require_approval: Optional[bool] = typer.Option(
        None, "--require-approval/--no-require-approval",
        help="Publish only approved clips (default: when the run recorded approval decisions).",
    ),
    catalog: Optional[str] = typer.Option(None, help="Catalog for product ids and SKUs (default: each clip's metadata)."),
    source: Optional[str] = typer.Option(None, help="Catalog kind of --catalog (guessed when left out)."),
) -> None:
    """Publish the clips of a finished run that passed compliance (and were approved where approval is needed)."""
    from rich.markup import escape

    from publishers import publish_run
    from publishers.run import counts, parse_options

    products = None
    if catalog:
        from catalog_adapters import open_catalog

        _check_catalog(catalog)
        products = {p.handle: p for p in open_catalog(catalog, source).products()}
    results = publish_run(out, to, dry_run=dry_run, options=parse_options(option),
                          require_approval=require_approval, products=products)
    table = Table(title=f"productreel publish -> {to}" + (" (dry run)" if dry_run else ""))
    for col in ("clip", "status", "where", "detail"):
        table.add_column(col, overflow="fold")
    colors = {"published": "green", "replaced": "green", "unchanged": "dim", "skipped": "yellow", "failed": "red", "dry-run": "cyan"}
    for result in results:
        row = result.row()
        table.add_row(row["clip"], f"[{colors.get(result.status, 'white')}]{result.status}[/]",
                      escape(row["where"]), escape(row["detail"]))
    console.print(table)
    n = counts(results)
    console.print(", ".join(f"{n.get(k, 0)} {k}" for k in ("published", "replaced", "unchanged", "failed", "skipped", "dry-run")
                            if n.get(k) or k in {"published", "failed"}))
    if n.get("failed"):
        raise typer.Exit(1)


@app.command("serve-webhooks")
def serve_webhooks_command(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8787, help="Port to listen on."),
    catalog: Optional[str] = typer.Option(None, help="Catalog the changed products are read from (default: the bundled sample)."),
    source: Optional[str] = typer.Option(None, help="Catalog kind, e.g. shopify for a store URL."),
    markets: str = typer.Option("", help="Comma-separated market codes (default: every configured market)."),
    kinds: str = typer.Option("ad,tutorial", help="Clip kinds."),
    out: Path = typer.Option(Path("out/run"), help="Output folder (its ledger also records webhook deliveries)."),
    profile: str = typer.Option("full", help="full or tiny."),
    publish: str = typer.Option("folder", help="Destination to publish to."),
    publish_url: Optional[str] = typer.Option(None, help="fsspec URL for the folder destination (s3://bucket/videos)."),
) -> None:
    """Receive Shopify and WooCommerce product webhooks: a change runs product-changed, a delete takes its clips down.

    Shopify posts to /webhooks/shopify (SHOPIFY_WEBHOOK_SECRET), WooCommerce to
    /webhooks/woocommerce (WOOCOMMERCE_WEBHOOK_SECRET); either may be a Prefect
    Secret block instead. A deployment run when a Prefect server has the deployment.
    """
    from flows.product_changed import make_on_product
    from flows.runtime import embedded_api, quiet_prefect
    from flows.secrets import register_secret_sources
    from jobs.plan import SAMPLE_CATALOG
    from productreel.settings import Settings
    from publishers.webhooks import serve_webhooks

    out_dir = out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    on_product = make_on_product(catalog=catalog or str(SAMPLE_CATALOG), source=source, markets=_split(markets) or None,
                                 kinds=_split(kinds), out=str(out_dir), profile=profile, publish_to=publish,
                                 publish_url=publish_url)
    # One embedded API for every run the receiver starts, stopped with the receiver (never orphaned).
    with quiet_prefect(), embedded_api():
        register_secret_sources()  # the webhook secrets may be Secret blocks
        serve_webhooks(on_product, db_url=Settings().ledger(out_dir), host=host, port=port)


@app.command("check")
def check_command(
    video: Path = typer.Argument(..., help="Any MP4 to check (made by productreel or not)."),
    market: str = typer.Option(..., "--market", "-m", help="Market code, e.g. de, us, jp, cn."),
    destination: str = typer.Option("folder", "--destination", "-d", help="folder, shopify, amazon, tiktok, reels, youtube-shorts, ..."),
    script: Optional[Path] = typer.Option(None, "--script", help="Text file with the script / voice-over to check too."),
    rules: Optional[Path] = typer.Option(None, "--rules", help="An extra rules YAML file or folder (a seller's own rules)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check a clip against its market's and destination's rules; exit 0 when the checks ran, 2 on bad arguments."""
    from compliance.cli import cli_check

    _, code = cli_check(video, market, destination=destination, script=script, as_json=as_json, rules=rules,
                        echo=typer.echo, err=lambda line: typer.echo(line, err=True))
    raise typer.Exit(code)


@app.command()
def markets() -> None:
    """List the markets: locale, currency, tax display, units, fonts, caption speed, labels."""
    from localization.markets import markets_table

    rows = markets_table()
    table = Table(title="markets")
    for col in rows[0].keys():
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


@app.command()
def styles() -> None:
    """List the ad styles (templates/styles/*.yaml): name, look, music."""
    from clips.styles import list_styles, load_style

    table = Table(title="ad styles")
    for col in ("style", "description", "music"):
        table.add_column(col, overflow="fold")
    for name in list_styles():
        style = load_style(name)
        table.add_row(name, style.description, style.music or "-")
    console.print(table)


def _style(name: str | None) -> str | None:
    """--style checked before anything renders: an unknown name is one line and exit 2."""
    if name is None:
        return None
    from clips.styles import list_styles

    if name not in list_styles():
        err.print(f"productreel: unknown style {name!r}; choose from {', '.join(list_styles())}", style="red", highlight=False)
        raise typer.Exit(2)
    return name


@app.command()
def approve(
    out: Path = typer.Option(..., help="Output folder of a finished run."),
    job: list[str] = typer.Argument(None, help="Jobs to decide, as handle/market/kind/format (default: every clip awaiting approval)."),
    who: str = typer.Option(..., help="Who decides (recorded in the ledger)."),
    why: str = typer.Option(..., help="Why (recorded in the ledger)."),
    reject: bool = typer.Option(False, "--reject", help="Reject instead of approve."),
) -> None:
    """Record a person's approval (or rejection) of clips whose WARN findings wait for one."""
    from compliance import gate, record_approval
    from jobs.outputs import read_outcomes
    from productreel.ledger import Ledger
    from productreel.settings import Settings

    if not (out / "summary.json").exists():
        err.print(f"productreel: no finished run in {out} (summary.json missing)", style="red", highlight=False)
        raise typer.Exit(2)
    ledger = Ledger(Settings().ledger(out))
    wanted = set(job or [])
    decided = Table(title="decisions")
    for col in ("job", "decision", "rules"):
        decided.add_column(col)
    for row in read_outcomes(out):
        if not row.job_key or not row.market or (wanted and row.job_id not in wanted):
            continue
        recorded = ledger.outcome(row.job_id)  # the ledger's record, as the run stored it
        if recorded is None or recorded.job_key != row.job_key:
            continue
        report = recorded.report
        if not wanted and gate(report, ledger, row.job_key) != "needs-approval":
            continue
        decision = "rejected" if reject else "approved"
        record_approval(ledger, row.job_key, who=who, why=why, report=report, decision=decision)
        job_id = row.job_id
        decided.add_row(job_id, decision, ", ".join(sorted({f.rule for f in report.findings if f.severity == "WARN"})))
    console.print(decided if decided.row_count else "nothing awaits approval")
    console.print(f"next: productreel publish --out {out}", highlight=False)


models_app = typer.Typer(help="Models: which voice, translation and video model each market gets (list), "
                          "download them (pull), or make a tiny random diffusion model (tiny).", no_args_is_help=True)
app.add_typer(models_app, name="models")
_models_cli.register(models_app)


@models_app.command("tiny")
def models_tiny(
    directory: Path = typer.Argument(..., help="Folder to write the pipeline to."),
    family: str = typer.Option("ltx", help="ltx, wan, wan22 (TI2V-style), ltx2, hunyuanvideo15, skyreels_v2 or sana_video."),
    seed: int = typer.Option(0, help="Seed of the random weights."),
) -> None:
    """Write a tiny random image-to-video pipeline that loads like a real checkpoint."""
    from clips.diffusion_tiny import FAMILIES, build_tiny_pipeline

    if family not in FAMILIES:
        err.print(f"productreel: --family must be one of {', '.join(FAMILIES)}, not {family!r}", style="red", highlight=False)
        raise typer.Exit(2)
    path = build_tiny_pipeline(directory, family=family, seed=seed)
    console.print(f"tiny {family} pipeline written to {path}; use it with: productreel run --backend diffusion --model {path} ...", highlight=False)


@app.command("server")
def server_command(
    port: int = typer.Option(0, help="Port of the Prefect API on 127.0.0.1 (default: a free one)."),
    idle_timeout: float = typer.Option(0, "--idle-timeout", help="Stop after this many minutes with no run (0: never)."),
    stop: bool = typer.Option(False, "--stop", help="Stop the server running for this PREFECT_HOME, and exit."),
) -> None:
    """Keep a local Prefect API running, and run flow commands for the CLI: run, demo and product-changed skip Prefect's start-up.

    Every productreel command of this PREFECT_HOME uses its API; run, demo,
    product-changed and campaign --yes are sent to it and run here, in a child
    of this process (Prefect already imported), their output shown where they
    were typed. `--no-server` (or PRODUCTREEL_NO_SERVER=1) runs a command in
    its own process.
    """
    from flows.runtime import LOCAL_API_FILE, Stopped, prefect_home, stop_local_api
    from flows.submit import serve_local_api

    if stop:
        pid = stop_local_api()
        console.print(f"stopped the productreel server (process {pid})" if pid else
                      f"no productreel server runs for {prefect_home()}", highlight=False)
        return

    def ready(url: str) -> None:
        console.print(f"local Prefect API at {url}; productreel commands use it and send their runs here (found "
                      f"through {prefect_home() / LOCAL_API_FILE}). Ctrl-C stops it.", highlight=False)

    def run_submitted(request: dict) -> None:  # in the server's child for one submitted run (flows/submit.py)
        use_terminal(request.get("terminal") or {})
        run_here()

    try:
        if serve_local_api(port, ready=ready, command=run_submitted, idle_timeout=idle_timeout * 60) == "idle":
            err.print(f"productreel: no run for {idle_timeout:g} min: local server stopped", highlight=False)
    except Stopped:
        err.print("productreel: local Prefect API stopped", highlight=False)


def main() -> None:
    """Entry point: a flow command goes to a running `productreel server` (flows/submit.py), else runs here."""
    from flows.submit import submit

    code = submit(sys.argv[1:])  # a running `productreel server` runs flow commands: no Prefect start-up here
    if code is not None:
        sys.exit(code)
    run_here()


def run_here() -> None:
    """The command in this process, with clean one-line errors instead of tracebacks, and a stop that leaves no process behind.

    Ctrl-C or SIGTERM unwinds the command (the embedded Prefect API is stopped
    on the way out), then stops every process the command started (FFmpeg,
    voices) and exits at once: worker threads are not waited for, since every
    output is written atomically and a rerun resumes from the ledger.
    """
    from flows.runtime import Stopped, start_api_early, stop_descendants, stop_early_api, stop_on_signals
    from productreel.errors import ProductreelError

    try:
        with stop_on_signals():
            # A command that runs a flow gets its embedded API started now: it comes up while the command imports.
            start_api_early(sys.argv[1:])
            try:
                app()
            finally:
                stop_early_api()
    except ProductreelError as exc:
        err.print(f"productreel: {exc}", style="red", highlight=False)
        sys.exit(2)
    except Stopped as stop:
        err.print("productreel: stopped; run the same command again to resume (finished clips are kept)",
                  style="yellow", highlight=False)
        stop_descendants()
        sys.stderr.flush()
        os._exit(128 + stop.signum)


if __name__ == "__main__":
    main()
