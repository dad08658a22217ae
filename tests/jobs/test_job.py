"""jobs.job: inputs computed once, a typed outcome stored once, any exception failing its job alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.job import RunOptions, job_inputs, prepare, run_job
from jobs.outputs import read_outcomes, write_outputs
from jobs.plan import CatalogRead, plan_jobs, problem, select
from productreel.ledger import Ledger
from productreel.models import Job, JobOutcome, JobStatus, Product, ProductImage


@pytest.fixture
def options(tmp_path) -> RunOptions:
    return RunOptions(out_dir=str(tmp_path / "out"), ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}", profile="tiny")


@pytest.fixture
def product(samples_dir) -> Product:
    image = next((samples_dir / "images").glob("*.jpg"))
    return Product(id="7", handle="mug", title="Mug", description="A stoneware mug.", source="cat.csv:2",
                   images=[ProductImage(src=str(image), path=image)])


def test_inputs_carry_the_key_and_change_with_what_changes_the_clip(product, options):
    job = Job(handle="mug", market="de", kind="ad", format="9:16")
    a = job_inputs(job, product, options)
    assert a.market.code == "de" and a.lp.market == "de" and a.script.voiceover
    assert a.key == job_inputs(job, product, options).key
    assert a.key != job_inputs(job, product.model_copy(update={"title": "Big mug"}), options).key
    assert a.key != job_inputs(job, product, options.model_copy(update={"template": "summer-sale"})).key
    assert a.key != job_inputs(job.model_copy(update={"format": "1:1"}), product, options).key


def test_an_unknown_template_set_fails_the_job_with_one_line(product, options):
    job = Job(handle="mug", market="us", kind="ad", format="9:16")
    out = prepare(job, product, options.model_copy(update={"template": "no-such-set"}))
    assert isinstance(out, JobOutcome) and out.status is JobStatus.FAILED
    assert "no-such-set" in out.error and "\n" not in out.error and not out.log


def test_a_bug_while_templating_fails_that_job_with_its_traceback_in_a_log(product, options, monkeypatch):
    import localization.templating as templating

    def boom(*args, **kwargs):
        raise RuntimeError("template engine exploded")

    monkeypatch.setattr(templating, "render_script", boom)
    job = Job(handle="mug", market="us", kind="ad", format="9:16")
    out = prepare(job, product, options)
    assert isinstance(out, JobOutcome) and out.status is JobStatus.FAILED
    assert out.error.startswith("mug/us/ad/9:16: RuntimeError: template engine exploded")
    log = Path(out.log)
    assert log.is_file() and log.parent == Path(options.out_dir) / "logs"
    assert "Traceback" in log.read_text() and "template engine exploded" in log.read_text()
    assert Ledger(options.ledger_url).outcome(job.id).status is JobStatus.FAILED


def test_a_bug_while_rendering_fails_the_job_and_is_recorded_once(product, options, monkeypatch):
    import clips.storyboard as storyboard

    def boom(*args, **kwargs):
        raise ValueError("odd image mode")

    monkeypatch.setattr(storyboard, "build_storyboard", boom)
    job = Job(handle="mug", market="us", kind="ad", format="9:16")
    inputs = job_inputs(job, product, options)
    out = run_job(inputs, product, options)
    assert out.status is JobStatus.FAILED and out.job_key == inputs.key and "ValueError: odd image mode" in out.error
    row = Ledger(options.ledger_url).job(job.id)
    assert row["status"] == "failed" and row["key"] == inputs.key
    assert JobOutcome.model_validate(row["outcome"]) == out


def test_a_transient_error_is_raised_for_the_task_retries(product, options, monkeypatch):
    import clips.storyboard as storyboard
    from productreel.errors import TransientError

    def throttled(*args, **kwargs):
        raise TransientError("GPU busy")

    monkeypatch.setattr(storyboard, "build_storyboard", throttled)
    job = Job(handle="mug", market="us", kind="ad", format="9:16")
    with pytest.raises(TransientError):
        run_job(job_inputs(job, product, options), product, options)


def test_outcomes_round_trip_through_the_summary(tmp_path):
    rows = [
        JobOutcome(handle="mug", market="us", kind="ad", format="9:16", status=JobStatus.RENDERED, job_key="k",
                   verdict="needs-approval", publish="awaiting approval (L10N-1)"),
        problem("cap", "cat.csv:9", "price 'abc' is not a number"),
    ]
    summary = write_outputs(tmp_path, rows, 1.0, notes=["product mug: not sold in jp"])
    assert summary["counts"] == {"failed": 1, "rendered": 1}
    assert summary["notes"] == ["product mug: not sold in jp"] and "not sold in jp" in (tmp_path / "index.html").read_text()
    assert summary["jobs"][1]["needs_approval"] and summary["jobs"][1]["passed"]
    assert read_outcomes(tmp_path) == [rows[1], rows[0]]  # failures first
    assert (tmp_path / "index.html").is_file()


def test_select_names_missing_products_and_plan_skips_tutorials_without_steps():
    mug = Product(id="1", handle="mug", title="Mug", tags=["Summer"], steps=["Rinse"])
    cap = Product(id="2", handle="cap", title="Cap", tags=["winter"])
    read = select(CatalogRead([mug, cap], []), wanted=["1", "ghost"], catalog="cat.csv")
    assert [p.handle for p in read.products] == ["mug"]
    assert [(p.handle, p.error) for p in read.problems] == [("ghost", "product 'ghost' is not in the catalog cat.csv")]
    assert [p.handle for p in select(CatalogRead([mug, cap], []), tag="summer").products] == ["mug"]
    jobs = plan_jobs([mug, cap], ["us"], ["ad", "tutorial"], {"ad": ["9:16", "1:1"]})
    assert [j.id for j, _ in jobs] == ["mug/us/ad/9:16", "mug/us/ad/1:1", "mug/us/tutorial/16:9", "cap/us/ad/9:16", "cap/us/ad/1:1"]


def test_plan_makes_nothing_where_the_catalog_says_the_product_is_not_sold():
    mug = Product(id="1", handle="mug", title="Mug", not_sold_in=["japan"])  # Shopify "Included / Japan" FALSE
    cap = Product(id="2", handle="cap", title="Cap", not_sold_in=["de"])  # excluded by market code
    lines: list[str] = []
    jobs = plan_jobs([mug, cap], ["us", "jp", "de"], ["ad"], not_sold=lines)
    assert [j.id for j, _ in jobs] == ["mug/us/ad/9:16", "mug/de/ad/9:16", "cap/us/ad/9:16", "cap/jp/ad/9:16"]
    assert lines == ["product mug: not sold in jp", "product cap: not sold in de"]
    assert mug.sold_in("us") and not mug.sold_in("Japan") and not cap.sold_in("DE")


def test_destinations_that_share_a_profile_share_a_render_and_a_key(product, options):
    from jobs.job import render_destination

    assert render_destination(["folder", "merchant-center"], ["9:16"]) == "folder"  # the feed adds no margins
    assert render_destination(["merchant-center", "folder"], ["9:16"]) == "folder"
    assert render_destination([], ["9:16"]) == "folder"
    job = Job(handle="mug", market="us", kind="ad", format="9:16")
    key = {d: job_inputs(job, product, options.model_copy(update={"destination": d})).key
           for d in ("folder", "shopify", "merchant-center", "tiktok")}
    assert key["folder"] == key["shopify"]  # same safe zone, loudness and captions: one render
    assert len({key["folder"], key["merchant-center"], key["tiktok"]}) == 3


def test_one_clip_is_published_to_each_destination_in_order(product, options, tmp_path, samples_dir):
    """folder then merchant-center: the feed links the folder's public copy of the same clip."""
    import shutil

    from jobs.job import publish_job, publishable
    from productreel.models import Destination

    clip_dir = tmp_path / "clip"
    clip_dir.mkdir()
    video = clip_dir / "ad-9x16.mp4"
    shutil.copy(_a_real_clip(tmp_path), video)
    outcome = JobOutcome(handle="mug", market="us", kind="ad", format="9:16", status=JobStatus.RENDERED, job_key="k1",
                         clip=str(video), duration=15.0, verdict="publish")
    assert publishable(outcome, "folder")
    options = options.model_copy(update={"publish_to": ["folder", "merchant-center"]})
    base = {"base_url": "https://videos.example.com/clips"}
    out = publish_job(outcome, product, [Destination(name="folder", options=base),
                                          Destination(name="merchant-center", options=base)], options)
    assert out.publish == "folder: published, merchant-center: published", out.publish
    ledger = Ledger(options.ledger_url)
    assert ledger.receipt("k1", "folder").status == "published"
    feed = ledger.receipt("k1", "merchant-center")
    assert feed.url == ledger.receipt("k1", "folder").url or feed.url.startswith("https://videos.example.com/")
    again = publish_job(outcome, product, [Destination(name="folder", options=base),
                                            Destination(name="merchant-center", options=base)], options)
    assert "folder: unchanged" in again.publish  # exactly once per destination


def _a_real_clip(tmp_path: Path) -> Path:
    """A 15 s 1080x1920 H.264 clip (what the feed's video_link rules accept), made with FFmpeg."""
    import subprocess

    import imageio_ffmpeg

    path = tmp_path / "real.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=navy:s=1080x1920:r=5:d=15", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(path)], check=True)
    return path
