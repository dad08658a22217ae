"""Compliance fixtures: markets built directly, localized products, and a factory for tiny rendered clips."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clipmaker import make_clip  # noqa: E402

from productreel.models import LocalizedProduct, LocalizedText, Market  # noqa: E402

MARKETS = {
    "us": dict(code="us", name="United States", locale="en-US", language="en", currency="USD", ad_label="Ad", ai_label="AI-generated", caption_chars_per_line=42, caption_chars_per_second=17),
    "de": dict(code="de", name="Germany", locale="de-DE", language="de", currency="EUR", tax_inclusive=True, tax_label="inkl. MwSt.", ad_label="Anzeige", ai_label="KI-generiert", eu=True, caption_chars_per_line=42, caption_chars_per_second=17),
    "cn": dict(code="cn", name="China", locale="zh-Hans-CN", language="zh", currency="CNY", ad_label="广告", ai_label="人工智能生成合成", caption_chars_per_line=16, caption_chars_per_second=9),
    "jp": dict(code="jp", name="Japan", locale="ja-JP", language="ja", currency="JPY", ad_label="広告", ai_label="AI生成", caption_chars_per_line=13, caption_chars_per_second=4),
    "gb": dict(code="gb", name="United Kingdom", locale="en-GB", language="en", currency="GBP", ad_label="Ad", ai_label="AI-generated", caption_chars_per_line=42, caption_chars_per_second=17),
    "br": dict(code="br", name="Brazil", locale="pt-BR", language="pt", currency="BRL", ad_label="Publicidade", ai_label="Gerado por IA", caption_chars_per_line=42, caption_chars_per_second=17),
    "fr": dict(code="fr", name="France", locale="fr-FR", language="fr", currency="EUR", ad_label="Publicité", ai_label="Généré par IA", eu=True, caption_chars_per_line=42, caption_chars_per_second=17),
}


def market(code: str) -> Market:
    """A Market built directly (tests do not depend on the localization room's files)."""
    return Market(**MARKETS[code])


def localized(code: str, price_text: str | None, **kw) -> LocalizedProduct:
    """A LocalizedProduct carrying the market's formatted price."""
    m = MARKETS[code]
    return LocalizedProduct(product_id="1", handle="mug", market=code, locale=m["locale"], title=LocalizedText(text=kw.pop("title", "Mug")),
                            description=LocalizedText(text=""), price_text=price_text, currency=m["currency"], **kw)


@pytest.fixture
def clip_factory(tmp_path: Path):
    """make(name, **make_clip kwargs) -> path of a tiny MP4 in tmp_path."""

    def make(name: str = "clip.mp4", **kw) -> Path:
        return make_clip(tmp_path / name, **kw)

    return make
