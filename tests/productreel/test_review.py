from productreel.review import write_review_page


def _summary(tmp_path, **row):
    base = {"handle": "mug", "market": "de", "kind": "ad", "format": "9:16", "status": "rendered", "clip": str(tmp_path / "clips" / "a.mp4"),
            "poster": "", "srt": "", "vtt": "", "publish": "published", "error": "", "source": "", "findings": []}
    base.update(row)
    return {"out": str(tmp_path), "seconds": 1.0, "counts": {"rendered": 1}, "jobs": [base]}


def test_every_value_is_html_escaped(tmp_path):
    page = write_review_page(_summary(tmp_path, handle="<script>alert(1)</script>", error="a & b"), tmp_path / "index.html")
    html = page.read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "a &amp; b" in html


def test_clip_paths_are_relative_and_repeated_findings_fold(tmp_path):
    findings = [{"rule": "ACC-5", "severity": "FIX", "message": f"caption {i}"} for i in range(3)]
    findings.append({"rule": "PRICE-1", "severity": "BLOCK", "message": "wrong price"})
    html = write_review_page(_summary(tmp_path, findings=findings), tmp_path / "index.html").read_text()
    assert 'src="clips/a.mp4"' in html
    assert "ACC-5 ×3" in html and "(and 2 more)" in html
    assert html.index("PRICE-1") < html.index("ACC-5")
