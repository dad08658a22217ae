"""The `productreel check` logic: JSON shape, exit codes, unreadable files as findings."""

from __future__ import annotations

import json
from pathlib import Path

from compliance.cli import cli_check


def run(*args, **kw):
    out: list[str] = []
    report, code = cli_check(*args, echo=out.append, **kw)
    return report, code, "\n".join(out)


def test_check_json_shape_and_exit_zero_even_when_blocked(clip_factory, tmp_path: Path):
    clip = clip_factory(texts=[("Made in USA", (20, 200), 30, "white", 0, 2)])
    script = tmp_path / "script.txt"
    script.write_text("Get a free mug today", encoding="utf-8")
    report, code, out = run(clip, "us", destination="reels", script=script, as_json=True)
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"clip", "market", "destination", "passed", "findings"}
    assert data["market"] == "us" and data["destination"] == "reels" and data["passed"] is False
    rules = {f["rule"] for f in data["findings"]}
    assert {"CL-US-1", "CL-US-2"} <= rules
    assert all({"rule", "severity", "evidence"} <= set(f) for f in data["findings"])


def test_corrupt_file_exits_zero_with_spec_finding(tmp_path: Path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"garbage" * 100)
    _, code, out = run(bad, "de", as_json=True)
    data = json.loads(out)
    assert code == 0 and data["findings"][0]["rule"] == "SPEC-1" and "unreadable" in data["findings"][0]["message"]


def test_bad_arguments_exit_two(clip_factory, tmp_path: Path):
    clip = clip_factory()
    assert run(clip, "atlantis")[1] == 2
    assert run(clip, "us", destination="myspace")[1] == 2
    assert run(tmp_path / "missing.mp4", "us")[1] == 2
    assert run(clip, "us", script=tmp_path / "missing.txt")[1] == 2


def test_text_output_names_the_verdict(clip_factory):
    _, code, out = run(clip_factory(), "us")
    assert code == 0 and out.splitlines()[-1].startswith(("PASSED", "BLOCKED"))


def test_productreel_check_command(clip_factory):
    from typer.testing import CliRunner

    from flows.cli import app

    clip = clip_factory(texts=[("Made in USA", (20, 200), 30, "white", 0, 2)])
    res = CliRunner().invoke(app, ["check", str(clip), "--market", "us", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["findings"][0]["rule"] == "CL-US-1"
    bad = CliRunner().invoke(app, ["check", str(clip), "--market", "atlantis"])
    assert bad.exit_code == 2 and "unknown market" in bad.stderr
