"""No error stops a batch, and no stop leaves a process behind.

A plain RuntimeError while one product's photo is read, or while one job's
script is templated, fails that product alone: the rest is made, summary.json
and the review page are written, the screen shows no traceback and the
command exits 0. Ctrl-C / SIGTERM during a run, and SIGTERM to a webhook
receiver that started a run, leave no process (embedded Prefect API, FFmpeg).
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from ._procs import cli_env, session_processes as _session, start_cli as _cli, wait_for as _wait_for

pytestmark = pytest.mark.slow


def test_unexpected_exceptions_fail_one_product_each_and_the_run_goes_on(prefect_harness, sample_catalog, tmp_path,
                                                                          monkeypatch):
    from typer.testing import CliRunner

    import catalog_adapters.images as images
    import localization.templating as templating
    from flows.cli import app
    from jobs.plan import read_catalog

    products = read_catalog(str(sample_catalog), cache_dir=tmp_path / "cache").products[:3]
    photo_fails, script_fails, fine = (p.handle for p in products)
    bad_photo = products[0].images[0].src
    real_fetch, real_script = images.fetch_image, templating.render_script

    def fetch(src, **kw):
        if src == bad_photo:
            raise RuntimeError("decoder crashed")
        return real_fetch(src, **kw)

    def script(lp, product, *args, **kw):
        if product.handle == script_fails:
            raise RuntimeError("filter blew up")
        return real_script(lp, product, *args, **kw)

    monkeypatch.setattr(images, "fetch_image", fetch)
    monkeypatch.setattr(templating, "render_script", script)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", "--catalog", str(sample_catalog), "--markets", "us", "--kinds", "ad",
                                      "--limit", "3", "--profile", "tiny", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert (out / "index.html").is_file()
    by_handle = {j["handle"]: j for j in summary["jobs"]}
    assert by_handle[fine]["status"] in {"rendered", "blocked"} and Path(by_handle[fine]["clip"]).is_file()
    assert by_handle[photo_fails]["status"] == "failed" and "RuntimeError: decoder crashed" in by_handle[photo_fails]["error"]
    failed = by_handle[script_fails]
    assert failed["status"] == "failed" and "RuntimeError: filter blew up" in failed["error"]
    assert Path(failed["log"]).is_file() and "Traceback" in Path(failed["log"]).read_text()
    assert "tracebacks are in" in result.output
    assert ">traceback</a>" in (out / "index.html").read_text()  # the review page links the log


def test_campaign_template_is_a_template_set(prefect_harness, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    out = tmp_path / "campaign"
    result = CliRunner().invoke(app, ["campaign", "--tag", "coffee", "--markets", "us", "--template", "summer-sale",
                                      "--profile", "tiny", "--out", str(out), "--yes", "--local", "--limit", "1"])
    assert result.exit_code == 0, result.output
    jobs = [j for j in json.loads((out / "summary.json").read_text())["jobs"] if j["kind"]]
    assert jobs and all(j["status"] in {"rendered", "blocked"} for j in jobs), jobs
    meta = json.loads(Path(jobs[0]["metadata"]).read_text())
    assert any(name.startswith("summer-sale/") for name in meta["templates"]), meta["templates"]
    unknown = CliRunner().invoke(app, ["campaign", "--template", "winter-gala", "--out", str(out), "--yes", "--local"])
    assert unknown.exit_code == 2 and "no template set 'winter-gala'" in unknown.output


# --- stopping ------------------------------------------------------------------------


def _stop_and_check(proc: subprocess.Popen, sig: int) -> str:
    proc.send_signal(sig)
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert _wait_for(lambda: not _session(proc.pid), timeout=15), _session(proc.pid)
    assert proc.returncode == 128 + sig, stderr
    assert "Traceback" not in stderr
    return stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_run_stopped_half_way_leaves_no_process(sample_catalog, tmp_path, sig):
    out = tmp_path / "out"
    proc = _cli(["run", "--catalog", str(sample_catalog), "--markets", "us,de", "--kinds", "ad", "--profile", "tiny",
                 "--out", str(out)], cli_env(tmp_path, SHOPIFY_WEBHOOK_SECRET="whsec_test"))
    # Half way: the embedded API is up and a clip is being encoded.
    assert _wait_for(lambda: any("ffmpeg" in c for c in _session(proc.pid))), proc.stderr
    assert any("uvicorn" in c for c in _session(proc.pid))
    stderr = _stop_and_check(proc, sig)
    assert "run the same command again to resume" in stderr


def test_a_receiver_stopped_after_its_first_delivery_leaves_no_process(sample_catalog, tmp_path):
    import httpx

    from publishers.webhooks import sign

    port = _free_port()
    proc = _cli(["serve-webhooks", "--port", str(port), "--catalog", str(sample_catalog), "--markets", "us", "--kinds",
                 "ad", "--profile", "tiny", "--out", str(tmp_path / "out")],
                cli_env(tmp_path, SHOPIFY_WEBHOOK_SECRET="whsec_test"))

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    assert _wait_for(up), proc.stderr
    body = json.dumps({"id": 1, "handle": "ceramic-mug", "updated_at": "2026-12-01T10:00:00Z"}).encode()
    response = httpx.post(f"http://127.0.0.1:{port}/webhooks/shopify", content=body, headers={
        "X-Shopify-Topic": "products/update", "X-Shopify-Hmac-Sha256": sign(body, "whsec_test"),
        "X-Shopify-Webhook-Id": "w1", "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert _wait_for(lambda: any("uvicorn" in c for c in _session(proc.pid)))
    _stop_and_check(proc, signal.SIGTERM)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
