"""Settings: one pydantic BaseSettings class, read from PRODUCTREEL_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Machine-wide settings; per-run choices are flow parameters."""

    model_config = SettingsConfigDict(env_prefix="PRODUCTREEL_", extra="ignore")

    out_dir: Path = Path("out")
    ledger_url: str | None = None  # default: sqlite:///<out>/ledger.sqlite
    workers: int = 2
    # Render profile: "full" makes real sizes; "tiny" makes small, short clips for tests and smoke runs.
    profile: str = "full"
    backend: str = "compose"
    model: str | None = None
    allow_downloads: bool = False
    mt_model: str | None = None  # local machine-translation model directory
    exchange_rates: Path | None = None
    brand: str = "default"
    templates_dir: Path = ROOT / "templates"
    markets_dir: Path = ROOT / "localization" / "markets"
    rules_dir: Path = ROOT / "compliance" / "rules"
    cache_dir: Path = Path.home() / ".cache" / "productreel"

    def ledger(self, out_dir: Path | None = None) -> str:
        """The ledger URL, defaulting to a SQLite file in the output folder."""
        if self.ledger_url:
            return self.ledger_url
        base = Path(out_dir or self.out_dir)
        return f"sqlite:///{base.resolve() / 'ledger.sqlite'}"


def get_settings() -> Settings:
    """Settings read from the environment now."""
    return Settings()
