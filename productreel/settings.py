"""Settings: one pydantic BaseSettings class, read from PRODUCTREEL_* environment variables.

Every machine-wide knob is a field here (``PRODUCTREEL_<FIELD>``); the diffusion
backend's knobs are one nested group, ``PRODUCTREEL_DIFFUSION_<FIELD>``. No room
reads a PRODUCTREEL_* variable from ``os.environ`` itself. Storefront credentials
(SHOPIFY_*, WOOCOMMERCE_*) are secrets, read through ``productreel.secrets``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class DiffusionSettings(BaseModel):
    """Diffusion-only settings: PRODUCTREEL_DIFFUSION_* environment variables, as ``Settings().diffusion``."""

    revision: str | None = None  # a Hugging Face revision (branch, tag or commit) for a hub id
    device: str | None = None  # default: cuda when present, else cpu
    dtype: Literal["bfloat16", "float16", "float32"] = "bfloat16"  # on CUDA; CPU always runs float32
    steps: int | None = None  # default: the model card's, else the family's (LTX distilled: set 8)
    guidance: float | None = None  # <= 1 switches classifier-free guidance off (distilled checkpoints)
    max_area: int | None = None  # generation area in pixels; the output format is cropped from it
    fps: int | None = None  # generation frame rate; fit_frames converts to the output's
    max_frames: int | None = None
    max_sequence_length: int | None = None
    # A custom denoising schedule (LTX only), e.g. the 0.9.7/0.9.8 distilled checkpoints' list.
    timesteps: list[float] | None = None
    # Diffusers cache hooks on the transformer: FirstBlockCache needs nothing else; MagCache needs
    # the model's magnitude ratios (from a calibration run: MagCacheConfig(calibrate=True)); TaylorSeer
    # predicts attention outputs between full steps. "auto": the family's own (clips/diffusion_families.yaml).
    cache_method: Literal["auto", "none", "first_block", "mag", "taylorseer"] = "auto"
    cache_threshold: float | None = None  # default: diffusers' (0.05 first-block, 0.06 MagCache)
    cache_interval: int = 5  # TaylorSeer: steps predicted between two full ones, minus one (diffusers' default)
    mag_ratios: list[float] | None = None
    compile: bool = False  # transformer.compile_repeated_blocks(): minutes of warm-up, then faster
    offload: Literal["auto", "none", "model", "group"] = "auto"  # auto: by free GPU memory
    vae_tiling: bool = True
    batch_size: int = 4  # shots of one size per pipeline call, halved on CUDA out-of-memory
    fidelity_threshold: float | None = None  # default: the model card's, else the method's
    fidelity_retries: int = 2  # extra seeds before falling back to a composed shot
    fidelity_model: str | None = None  # local vision model folder/id for embedding similarity
    cpu_max_params: int = 50_000_000  # above this a CPU refuses the checkpoint (hours per shot)


class Settings(BaseSettings):
    """Machine-wide settings; per-run choices are flow parameters."""

    # "_" splits once, and only where the first word names a nested group: PRODUCTREEL_DIFFUSION_MAX_AREA
    # is diffusion.max_area, while PRODUCTREEL_OUT_DIR stays out_dir.
    model_config = SettingsConfigDict(
        env_prefix="PRODUCTREEL_", extra="ignore", env_nested_delimiter="_", env_nested_max_split=1
    )

    out_dir: Path = Path("out")
    ledger_url: str | None = None  # default: sqlite:///<out>/ledger.sqlite
    workers: int | None = None  # parallel jobs on this machine; default: the CPU count (at least 2)
    # Render profile: "full" makes real sizes; "tiny" makes small, short clips for tests and smoke runs.
    profile: str = "full"
    backend: str = "compose"
    model: str | None = None
    allow_downloads: bool = False
    mt_model: str | None = None  # local machine-translation model directory
    # Folder of the model catalog files (voice.yaml, mt.yaml, video.yaml); default: productreel/model_catalog.
    model_catalog: Path | None = None
    exchange_rates: Path | None = None
    brand: str = "default"
    templates_dir: Path = ROOT / "templates"
    markets_dir: Path = ROOT / "localization" / "markets"
    # The seller's per-market settings: a YAML file, market code -> fields that replace the market file's
    # (e.g. `de: {machine_translation_needs_approval: false}`).
    market_overrides: Path | None = None
    rules_dir: Path = ROOT / "compliance" / "rules"
    cache_dir: Path = Path.home() / ".cache" / "productreel"
    # GPUs a worker may use (a count; default: the devices in CUDA_VISIBLE_DEVICES), and ONNX Runtime
    # threads per OCR/nudity session (1: jobs already run in parallel).
    gpus: int | None = None
    ocr_threads: int = 1
    # Extra compliance rule files or folders, os.pathsep separated, read after the built-in ones.
    seller_rules: str = ""
    # C2PA signing: the seller's PEM chain (end-entity first) and key; without both, a development chain.
    c2pa_cert: Path | None = None
    c2pa_key: Path | None = None
    c2pa_tsa_url: str | None = None
    # Voice-over (clips/voices.py): "auto" (the catalog's voice licensed for ads when pulled, else espeak-ng),
    # "espeak-ng", "silent", "piper:<path>", a voice catalog id, or "mms" (never for ads). Default: auto
    # (mms when voice_model is set).
    voice: str = ""
    voice_model: Path | None = None  # a local MMS (VITS) model directory
    # Extra font folders, os.pathsep separated; when set, fc-list is not asked.
    font_dirs: str = ""
    # A local ONNX image-matting model folder for product cutouts (clips/cutout.py); else a built-in method.
    matting_model: str | None = None
    # Image URLs inside a remote catalog may not lead to loopback, private, link-local or other non-public
    # addresses; these hosts, IP addresses or CIDR networks (comma-separated) are the seller's own and allowed.
    allowed_private_hosts: str = ""
    diffusion: DiffusionSettings = DiffusionSettings()

    def ledger(self, out_dir: Path | None = None) -> str:
        """The ledger URL, defaulting to a SQLite file in the output folder."""
        if self.ledger_url:
            return self.ledger_url
        base = Path(out_dir or self.out_dir)
        return f"sqlite:///{base.resolve() / 'ledger.sqlite'}"


def get_settings() -> Settings:
    """Settings read from the environment now."""
    return Settings()
