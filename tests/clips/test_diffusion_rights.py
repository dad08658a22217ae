"""Rights of generated shots: the model's licence from its card, the seller's photos, and a signed clip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clips.diffusion import GeneratedShot, build_tiny_pipeline, provenance_assets
from clips.diffusion_card import front_matter, model_rights

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def card(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "text,license_id,owner",
    [
        ("---\nlicense: apache-2.0\n---\n# Model\n", "apache-2.0", None),
        ("---\nlicense: other\nlicense_name: ltx-2-community-license\nlicense_link: LICENSE\n---\n",
         "ltx-2-community-license", None),
        ("---\nlicense: [mit, apache-2.0]\nbase_model: Wan-AI/Wan2.1-I2V-14B-480P-Diffusers\n---\n", "mit, apache-2.0", "Wan-AI"),
        ("---\nlicense: cc-by-nc-4.0\nowner: Some Lab\n---\n", "cc-by-nc-4.0", "Some Lab"),
        ("# no front matter\nlicense: mit\n", None, None),
    ],
)
def test_model_licence_is_read_from_the_card_front_matter(tmp_path, text, license_id, owner):
    entry = model_rights("./my-model", card(tmp_path / "m", text), "local-1")
    assert entry["kind"] == "model" and entry["name"] == "./my-model" and entry.get("license") == license_id
    assert entry["owner"] == owner if owner else entry["owner"]
    assert ("note" in entry) is (license_id is None)


def test_a_hub_model_is_owned_by_its_organisation(tmp_path):
    entry = model_rights("Lightricks/LTX-Video", card(tmp_path / "snap", "---\nlicense: openrail\n---\n"), "abc123")
    assert (entry["owner"], entry["license"], entry["source"]) == ("Lightricks", "openrail", "Lightricks/LTX-Video (revision abc123)")


def test_no_card_is_named_in_the_note(tmp_path):
    entry = model_rights(str(tmp_path), tmp_path, "local-1")
    assert "license" not in entry and "no model card (README.md)" in entry["note"]
    # A Hub model's card is one command away (DiffusionPipeline.download leaves it out).
    assert "`hf download Lightricks/LTX-2 README.md`" in model_rights("Lightricks/LTX-2", tmp_path, "abc")["note"]


def test_tiny_pipelines_carry_a_card_with_a_licence(tmp_path):
    model = build_tiny_pipeline(tmp_path / "tiny", "wan")
    assert front_matter(model / "README.md")["license"] == "apache-2.0"


def _shot(tmp_path: Path) -> GeneratedShot:
    video = tmp_path / "shot.mp4"
    video.write_bytes(b"")
    return GeneratedShot(video=video, metadata={"model": "org/model", "revision": "r1", "seed": 3, "prompt": "a mug"})


def test_generated_shots_are_recorded_with_the_model_that_made_them(tmp_path):
    model = {"kind": "model", "name": "org/model", "source": "org/model (revision r1)", "license": "apache-2.0", "owner": "org"}
    shot, entry = provenance_assets([_shot(tmp_path)], model)
    assert shot["kind"] == "generated_shot" and shot["digital_source_type"].endswith("/trainedAlgorithmicMedia")
    assert shot["license"] == "output of org/model under apache-2.0" and shot["owner"] == "seller" and shot["seed"] == 3
    assert entry == model


# -- LIC-1 on a generated storyboard ------------------------------------------------------------------------------
def _lic(storyboard, assets, market_code="us", rules=None):
    from compliance.engine import run_checks
    from compliance.rights import asset_manifest

    from tests.compliance.helpers import market

    entries = asset_manifest(storyboard, assets=assets, rules=rules)
    report, _ = run_checks(Path("clip.mp4"), market(market_code), only={"LIC-1"}, assets=entries, storyboard=storyboard, rules=rules)
    return entries, [f for f in report.findings if f.rule == "LIC-1"]


def _generated_storyboard(photo: Path, model: str):
    from productreel.models import Shot

    from tests.compliance.helpers import storyboard

    sb = storyboard("us", generated=True)
    sb.scenes[0].shot = Shot(kind="generated", image=photo, video=photo.with_suffix(".mp4"))
    sb.metadata.model = model
    return sb


def _model(license_id: str | None) -> dict:
    entry = {"kind": "model", "name": "org/model", "source": "org/model (revision r1)", "owner": "org"}
    if license_id:
        entry["license"] = license_id
    else:
        entry["note"] = "its model card has no `license:` line"
    return entry


@pytest.mark.parametrize(
    "license_id,market_code,blocked",
    [
        ("apache-2.0", "us", []),
        ("openrail++", "de", []),
        (None, "us", ["generated_shot", "model"]),  # really unknown: the model and its shot, by name
        ("cc-by-nc-4.0", "us", ["generated_shot", "model"]),  # non-commercial weights never draw an ad
        ("tencent-hunyuan-community", "us", []),
        ("tencent-hunyuan-community", "de", ["generated_shot", "model"]),  # the licence excludes the EU
    ],
)
def test_lic1_blocks_only_what_is_unknown_or_not_allowed(tmp_path, license_id, market_code, blocked):
    photo = SAMPLES / "images" / "mug-white.jpg"
    sb = _generated_storyboard(photo, "org/model")
    shot = _shot(tmp_path)
    entries, found = _lic(sb, provenance_assets([shot], _model(license_id)), market_code)
    assert sorted(f.evidence["asset"]["kind"] for f in found) == blocked
    # The photo the shot was made from is the seller's, an input to the generation.
    (photo_entry,) = [e for e in entries if e["kind"] == "product_photo"]
    assert (photo_entry["license"], photo_entry["owner"], photo_entry["relationship"]) == ("seller-owned", "seller", "inputTo")
    for f in found:
        assert f.evidence["asset"]["name"] in f.message  # the message names the asset
    if license_id is None:
        assert any("has no `license:` line" in f.message for f in found)


def test_the_sellers_rights_file_says_otherwise(tmp_path):
    rules = tmp_path / "rights.yaml"
    rules.write_text(
        "licenses:\n  assets:\n"
        "    - {match: 'mug-white.jpg', source: 'Stock agency', license: 'editorial use only', owner: 'Agency'}\n"
        "    - {match: 'org/*', kind: model, source: 'signed agreement', license: 'commercial agreement 2026', owner: 'org'}\n",
        encoding="utf-8",
    )
    from compliance.rules import load_rules

    book = load_rules(extra=[rules])
    photo = SAMPLES / "images" / "mug-white.jpg"
    entries, found = _lic(_generated_storyboard(photo, "org/model"), provenance_assets([_shot(tmp_path)], _model("cc-by-nc-4.0")),
                          rules=book)
    # The stock photo is blocked (editorial); the model and its shot are licensed by the seller's agreement.
    assert [f.evidence["asset"]["kind"] for f in found] == ["product_photo"] and "mug-white.jpg" in found[0].message
    shot = next(e for e in entries if e["kind"] == "generated_shot")
    assert shot["license"] == "output of org/model under commercial agreement 2026"


# -- a generated clip from the tiny model and a sample product, through the job, signed ---------------------------
@pytest.mark.slow
def test_a_generated_ad_from_the_tiny_model_is_signed_with_trained_algorithmic_media(tmp_path, monkeypatch):
    import c2pa

    from jobs.job import RunOptions, job_inputs, run_job
    from productreel.models import Job, JobStatus, Product, ProductImage

    model = build_tiny_pipeline(tmp_path / "tiny", "ltx")
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "cache"))
    photo = SAMPLES / "images" / "mug-white.jpg"
    product = Product(id="1", handle="ceramic-mug", title="Stoneware Coffee Mug", description="A stoneware mug.",
                      source="catalog.csv:2", images=[ProductImage(src=str(photo), path=photo)])
    options = RunOptions(out_dir=str(tmp_path / "out"), ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
                         profile="tiny", backend="diffusion", model=str(model))
    job = Job(handle="ceramic-mug", market="de", kind="ad", format="9:16")
    outcome = run_job(job_inputs(job, product, options), product, options)

    lic = [f for f in outcome.findings if f.rule == "LIC-1"]
    assert lic == [], [f.message for f in lic]
    assert outcome.status is JobStatus.RENDERED, [f.message for f in outcome.findings if f.severity == "BLOCK"]
    assert any(f.rule == "PROV-1" and f.message == "signed with C2PA and verified" for f in outcome.findings)
    with open(outcome.clip, "rb") as fh, c2pa.Reader("video/mp4", fh) as reader:
        store = json.loads(reader.json())
    assert store["validation_state"] in ("Valid", "Trusted")
    manifest = store["manifests"][store["active_manifest"]]
    actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    placed = [a for a in actions if a["action"] == "c2pa.placed"]
    assert placed and placed[0]["digitalSourceType"].endswith("/trainedAlgorithmicMedia")
    assert actions[0]["digitalSourceType"].endswith("/compositeWithTrainedAlgorithmicMedia")
    licences = {i["metadata"]["productreel:license"]["kind"]: i for i in manifest["ingredients"]}
    assert licences["model"]["metadata"]["productreel:license"]["license"] == "apache-2.0"
    assert licences["generated_shot"]["format"] == "video/mp4"
    photo_entry = licences["product_photo"]["metadata"]["productreel:license"]
    assert (photo_entry["license"], photo_entry["owner"]) == ("seller-owned", "seller")
