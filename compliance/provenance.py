"""Provenance: C2PA signing as the very last write (PROV-1, AI-EU-1), CN implicit AIGC metadata (AI-CN-2).

Certificates: production signs with the seller's ES256 chain and key, named by the environment
(PRODUCTREEL_C2PA_CERT: PEM chain, end-entity first; PRODUCTREEL_C2PA_KEY: PEM private key; optional
PRODUCTREEL_C2PA_TSA_URL). Without them a development chain (a CA and an end-entity certificate) is
generated once into <cache_dir>/c2pa/ — never committed; manifests signed with it validate but are untrusted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

from compliance.context import Context, finding
from compliance.manifest import manifest_source_types, read_manifest
from compliance.rules import Rule
from productreel import atomic
from productreel.errors import InputError, ProvenanceError, RenderError
from productreel.models import Finding, RenderedClip

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
SOURCE_TYPES = {
    "generated": IPTC + "trainedAlgorithmicMedia",
    "composite_generated": IPTC + "compositeWithTrainedAlgorithmicMedia",
    "capture": IPTC + "digitalCapture",
    "composite": IPTC + "composite",
}
AIGC_KEYS = ["Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator", "PropagateID", "ReservedCode2"]


# -- certificates ------------------------------------------------------------------------------------------------
def _cache_dir() -> Path:
    try:
        from productreel.settings import get_settings

        return Path(get_settings().cache_dir) / "c2pa"
    except Exception:  # settings unreadable: still sign in development
        return Path.home() / ".cache" / "productreel" / "c2pa"


def dev_certificate(directory: Path | None = None) -> tuple[bytes, bytes]:
    """A development ES256 chain (end-entity + CA, PEM) and key, generated once into the cache folder."""
    folder = Path(directory or _cache_dir())
    chain_file, key_file = folder / "dev-chain.pem", folder / "dev-key.pem"
    if chain_file.is_file() and key_file.is_file():
        return chain_file.read_bytes(), key_file.read_bytes()
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "productreel development CA (not trusted)"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "productreel dev")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ee_key = ec.generate_private_key(ec.SECP256R1())
    ee_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "productreel development signer"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "productreel dev")])
    ee = (
        x509.CertificateBuilder().subject_name(ee_name).issuer_name(ca_name).public_key(ee_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ee_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = ee.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    key = ee_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    folder.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(key_file, key, mode=0o600)
    atomic.write_bytes(chain_file, chain)
    return chain, key


def signing_credentials() -> tuple[bytes, bytes, str | None, bool]:
    """(chain PEM, key PEM, TSA URL, is_production): the seller's from the environment, else the dev chain."""
    from productreel.settings import get_settings

    s = get_settings()
    cert, key = s.c2pa_cert, s.c2pa_key
    if cert and key:
        try:
            return Path(cert).read_bytes(), Path(key).read_bytes(), s.c2pa_tsa_url or None, True
        except OSError as exc:
            raise InputError(f"cannot read the C2PA certificate or key: {exc}", where="PRODUCTREEL_C2PA_CERT") from exc
    chain, k = dev_certificate()
    return chain, k, None, False


# -- AIGC implicit label (CN) ------------------------------------------------------------------------------------
def aigc_label(clip_id: str, *, producer: str = "productreel", label: str = "1") -> dict[str, str]:
    """The GB 45438 Annex E implicit-label JSON: producer fields filled, propagator fields left to the platform."""
    return {"Label": label, "ContentProducer": producer, "ProduceID": clip_id, "ReservedCode1": "",
            "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""}


def write_aigc_metadata(path: Path, meta: dict[str, str]) -> None:
    """Write the AIGC JSON into the MP4's metadata with an ffmpeg stream copy (before signing: a remux drops C2PA)."""
    from imageio_ffmpeg import get_ffmpeg_exe

    path = Path(path)
    tmp = atomic.temp_path(path, ".mp4")
    cmd = [get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(path), "-map", "0", "-c", "copy",
           "-metadata", "AIGC=" + json.dumps(meta, ensure_ascii=False, separators=(",", ":")),
           "-movflags", "use_metadata_tags+faststart", str(tmp)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RenderError(f"FFmpeg cannot write the AIGC metadata: {res.stderr.strip()[-300:]}", where=str(path))
    os.replace(tmp, path)


def read_aigc_metadata(tags: dict[str, str]) -> dict | str | None:
    """The AIGC tag from ffprobe's format tags (key containing 'AIGC'), parsed when it is JSON."""
    for k, v in (tags or {}).items():
        if "aigc" in k.lower():
            try:
                return json.loads(v)
            except ValueError:
                return v
    return None


# -- C2PA ----------------------------------------------------------------------------------------------------------
def manifest_definition(title: str, *, generated: bool, assets: list[dict], composite: bool = True) -> dict[str, Any]:
    """The C2PA manifest: created/edited actions with the digital source type, and the assets as ingredients."""

    try:
        from importlib.metadata import version

        ver = version("productreel")
    except Exception:  # not installed as a distribution (running from a checkout)
        ver = "0.1.0"
    if generated:
        src = SOURCE_TYPES["composite_generated" if composite else "generated"]
    else:
        src = SOURCE_TYPES["composite" if composite else "capture"]
    actions = [{"action": "c2pa.created", "digitalSourceType": src,
                "softwareAgent": {"name": "productreel", "version": ver}}]
    # Each generated shot is placed into the composite as trained algorithmic media, linked to its ingredient.
    actions += [{"action": "c2pa.placed", "digitalSourceType": str(a["digital_source_type"]),
                 "parameters": {"ingredientIds": [_ingredient_label(i)]}}
                for i, a in enumerate(assets) if a.get("digital_source_type")]
    return {
        "claim_generator_info": [{"name": "productreel", "version": ver}],
        "title": title,
        "format": "video/mp4",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {"label": "productreel.assets", "data": {"assets": [_asset_public(a) for a in assets]}},
        ],
    }


def _asset_public(a: dict) -> dict:
    # A model's (a voice's) repo, revision and attribution say exactly which weights were used, under which terms.
    return {k: str(a[k]) for k in ("kind", "name", "source", "license", "owner", "repo", "revision", "attribution")
            if a.get(k) is not None}


def sign_clip(clip: RenderedClip | Path, *, generated: bool, assets: list[dict], market: str | None = None) -> None:
    """Sign the clip with C2PA in place, as the very last write; then read it back and verify (ProvenanceError if not)."""
    import c2pa

    path = Path(clip.video if isinstance(clip, RenderedClip) else clip)
    market = market or (clip.market if isinstance(clip, RenderedClip) else None)
    product = clip.product_handle if isinstance(clip, RenderedClip) else None
    if market == "cn" and generated:
        clip_id = clip.job_key if isinstance(clip, RenderedClip) else uuid.uuid4().hex
        write_aigc_metadata(path, aigc_label(clip_id))
    chain, key, tsa, _prod = signing_credentials()
    definition = manifest_definition(path.name, generated=generated, assets=assets)
    # Assets whose files C2PA can hash go in with their bytes; the rest (fonts, model weights) as described ingredients.
    definition["ingredients"] = [_ingredient_entry(a, i) for i, a in enumerate(assets) if not _hashable(a)]
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg=c2pa.C2paSigningAlg.ES256, sign_cert=chain, private_key=key, ta_url=tsa))
    tmp = atomic.temp_path(path)
    try:
        with c2pa.Builder(definition) as builder:
            for i, a in enumerate(assets):
                if _hashable(a):
                    _add_ingredient(builder, a, i)
            with open(path, "rb") as src, open(tmp, "w+b") as dst:
                builder.sign(signer, "video/mp4", src, dst)
        os.replace(tmp, path)
    except c2pa.C2paError as exc:
        tmp.unlink(missing_ok=True)
        raise ProvenanceError(f"PROV-1: C2PA signing failed: {exc}", product=product, market=market, where=str(path)) from exc
    finally:
        try:
            signer.close()
        except Exception:  # closing a signer that failed to build
            pass
    problems = [f for f in verify_provenance(path, generated=generated, market=market) if f.severity == "BLOCK"]
    if problems:
        # Our own signature does not verify: a signer fault, not a rule the clip breaks.
        raise ProvenanceError("; ".join(f"{f.rule}: {f.message}" for f in problems), product=product, market=market, where=str(path))


INGREDIENT_FORMATS = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
                      ".mp4": "video/mp4", ".mp3": "audio/mpeg", ".wav": "audio/wav", ".m4a": "audio/mp4"}


def _hashable(asset: dict) -> bool:
    path = Path(asset["path"]) if asset.get("path") else None
    return bool(path and INGREDIENT_FORMATS.get(path.suffix.lower()) and path.is_file())


FILE_FORMATS = {".ttf": "font/ttf", ".otf": "font/otf", ".ttc": "font/collection", ".woff2": "font/woff2",
                ".safetensors": "application/octet-stream", ".onnx": "application/octet-stream"}


def _ingredient_label(index: int) -> str:
    """The label that links an action to the ingredient of ``assets[index]``."""
    return f"productreel-asset-{index}"


def _ingredient_entry(asset: dict, index: int = 0) -> dict:
    """A C2PA ingredient that describes an asset without its bytes: title, format, relationship, license."""
    path = Path(asset["path"]) if asset.get("path") else None
    fmt = (INGREDIENT_FORMATS.get(path.suffix.lower()) or FILE_FORMATS.get(path.suffix.lower())) if path else None
    return {"title": asset.get("name") or (path.name if path else asset.get("kind", "asset")),
            "format": fmt or "application/octet-stream",
            # A model is an input to the generation, not a part of the picture.
            "relationship": asset.get("relationship") or ("inputTo" if asset.get("kind") == "model" else "componentOf"),
            "label": _ingredient_label(index),
            "metadata": {"productreel:license": _asset_public(asset)}}


def _add_ingredient(builder, asset: dict, index: int = 0) -> None:
    """An asset file of a format C2PA reads becomes an ingredient hashed with its bytes."""
    path = Path(asset["path"])
    entry = _ingredient_entry(asset, index)
    with open(path, "rb") as fh:
        builder.add_ingredient({k: v for k, v in entry.items() if k != "format"}, INGREDIENT_FORMATS[path.suffix.lower()], fh)


def verify_provenance(path: Path, *, generated: bool | None = None, market: str | None = None, require_trusted: bool = False) -> list[Finding]:
    """PROV-1 (and AI-EU-1/AI-CN-2 facts): the manifest reads, validates and names the right source type."""
    store = read_manifest(Path(path))
    src = "C2PA 2.x; c2pa-python Reader [5]"
    if store is None:
        return [Finding(rule="PROV-1", severity="BLOCK", message="no C2PA manifest", evidence={"path": str(path)}, source=src)]
    if "error" in store:
        return [Finding(rule="PROV-1", severity="BLOCK", message=f"C2PA manifest unreadable: {store['error']}", evidence={"path": str(path)}, source=src)]
    out: list[Finding] = []
    state = store.get("validation_state")
    if state not in ("Valid", "Trusted"):
        codes = [s.get("code") for s in (store.get("validation_results", {}).get("activeManifest", {}).get("failure") or [])]
        out.append(Finding(rule="PROV-1", severity="BLOCK", message=f"C2PA validation state {state}", evidence={"state": state, "failures": codes}, source=src))
    if require_trusted and state != "Trusted":
        out.append(Finding(rule="PROV-1", severity="BLOCK", message="signing credential is not trusted", evidence={"state": state}, source=src))
    types = manifest_source_types(store)
    if generated is not None:
        want = [SOURCE_TYPES["generated"], SOURCE_TYPES["composite_generated"]] if generated else [SOURCE_TYPES["capture"], SOURCE_TYPES["composite"]]
        if not any(t in want for t in types):
            out.append(Finding(rule="PROV-1", severity="BLOCK", message=f"no action with digitalSourceType {' or '.join(w.rsplit('/', 1)[-1] for w in want)}", evidence={"found": types}, source=src))
    if market == "cn" and generated:
        from productreel.media import probe

        try:
            tags = probe(Path(path)).get("format", {}).get("tags", {})
        except ValueError:
            tags = {}
        meta = read_aigc_metadata(tags)
        problem = aigc_problem(meta)
        if problem:
            out.append(Finding(rule="AI-CN-2", severity="BLOCK", message=problem, evidence={"found": meta}, source="GB 45438-2025 Annex E"))
    return out


def aigc_problem(meta: Any, keys: list[str] = AIGC_KEYS, labels: tuple[str, ...] = ("1", "2", "3")) -> str | None:
    """What is wrong with an AIGC implicit label, or None when it is complete."""
    if meta is None:
        return "no AIGC metadata field"
    if not isinstance(meta, dict):
        return "AIGC metadata is not JSON"
    missing = [k for k in keys if k not in meta]
    if missing:
        return f"AIGC metadata lacks {missing}"
    if str(meta.get("Label")) not in labels:
        return f"AIGC Label {meta.get('Label')!r} is not one of {list(labels)}"
    return None


# -- checks run by check_clip --------------------------------------------------------------------------------------
def check_provenance(rule: Rule, ctx: Context) -> list[Finding]:
    """A manifest present must validate; none yet is noted (sign_clip signs last and verifies)."""
    store = ctx.manifest
    if store is None:
        return [finding(rule, ctx, "not signed yet: compliance.sign_clip signs it as the last write before publishing", severity="INFO")]
    found = verify_provenance(ctx.path, generated=ctx.generated, require_trusted=bool(rule.params.get("require_trusted")))
    return [finding(rule, ctx, f.message, **f.evidence) for f in found if f.rule == "PROV-1"]


def check_provenance_ai(rule: Rule, ctx: Context) -> list[Finding]:
    """EU: a generated clip's manifest names trainedAlgorithmicMedia (or the composite form)."""
    if not ctx.generated:
        return []
    store = ctx.manifest
    if store is None:
        return [finding(rule, ctx, "generated clip not signed yet: sign_clip adds trainedAlgorithmicMedia", severity="INFO")]
    types = manifest_source_types(store)
    if not any("trainedalgorithmicmedia" in t.lower() for t in types):
        return [finding(rule, ctx, "C2PA manifest lacks a trainedAlgorithmicMedia source type", found=types)]
    return []


def check_aigc_metadata(rule: Rule, ctx: Context) -> list[Finding]:
    """CN: the implicit AIGC label is in the file's metadata with all keys (sign_clip writes it before signing)."""
    if not ctx.generated or ctx.info is None:
        return []
    meta = read_aigc_metadata(ctx.info.get("tags", {}))
    if meta is None and ctx.manifest is None:
        return [finding(rule, ctx, "AIGC metadata not written yet: sign_clip writes it before signing", severity="INFO")]
    problem = aigc_problem(meta, rule.params.get("keys", AIGC_KEYS), tuple(rule.params.get("labels", ["1", "2", "3"])))
    return [finding(rule, ctx, problem, found=meta)] if problem else []
