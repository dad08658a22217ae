"""Fixtures for the renderer: a product with sample photos, a market, its localized text and script."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from productreel.models import LocalizedProduct, LocalizedText, Market, Product, ProductImage, Script, Variant

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "images"


@pytest.fixture
def product() -> Product:
    """A mug with three local photos (one PNG with transparency) and how-to steps."""
    return Product(
        id="mug-1", handle="stoneware-mug", title="Stoneware Mug",
        variants=[Variant(sku="M1", price=Decimal("24.00"), currency="EUR", compare_at_price=Decimal("30.00"))],
        images=[ProductImage(src=str(SAMPLES / "mug-blue.jpg")), ProductImage(src="https://cdn.example/x.jpg", path=SAMPLES / "bottle-teal.png"),
                ProductImage(src=str(SAMPLES / "mug-white.jpg"))],
        steps=["Rinse the mug.", "Pour in hot coffee.", "Enjoy."],
    )


@pytest.fixture
def market() -> Market:
    """Germany: EU, ad label, AI label, tax-inclusive prices."""
    return Market(code="de", name="Germany", locale="de-DE", language="de", currency="EUR", eu=True, tax_inclusive=True,
                  ad_label="Anzeige", ai_label="KI-generiert", voice="de", fonts=["Noto Sans"], cta="Jetzt kaufen")


@pytest.fixture
def lp() -> LocalizedProduct:
    """The mug's German text and prices, with a compare-at and a prior price."""
    return LocalizedProduct(
        product_id="mug-1", handle="stoneware-mug", market="de", locale="de-DE",
        title=LocalizedText(text="Steinzeug-Becher Blau"), description=LocalizedText(text="Ein Becher aus Steinzeug."),
        price_text="24,00 €", compare_at_text="30,00 €", prior_price_text="Niedrigster Preis der letzten 30 Tage: 27,00 €",
        tax_text="inkl. MwSt.", cta=LocalizedText(text="Jetzt kaufen"),
        steps=[LocalizedText(text=s) for s in ["Becher ausspülen.", "Heißen Kaffee einfüllen.", "Genießen."]],
    )


@pytest.fixture
def script() -> Script:
    """A short ad script with a voice-over."""
    return Script(kind="ad", hook="Dein neuer Lieblingsbecher.", lines=["Handgemacht aus Steinzeug."], cta="Jetzt kaufen",
                  voiceover="Dein neuer Lieblingsbecher. Handgemacht.", templates={"ad/default.j2": "abc123"})


@pytest.fixture
def tiny_ad(product, lp, script, market):
    """A tiny 9:16 ad storyboard."""
    from clips.storyboard import build_storyboard

    return build_storyboard(product, lp, script, market, "ad", "9:16", job_key="job-1", profile="tiny")


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """One tiny ad rendered once for the whole session (the expensive part of these tests)."""
    from productreel.models import LocalizedProduct as LP

    from clips.compose import render
    from clips.storyboard import build_storyboard

    mk = Market(code="de", name="Germany", locale="de-DE", language="de", currency="EUR", eu=True, ad_label="Anzeige",
                ai_label="KI-generiert", voice="de", fonts=["Noto Sans"])
    prod = Product(id="p", handle="mug", title="Mug", images=[ProductImage(src=str(SAMPLES / "mug-blue.jpg")),
                                                                ProductImage(src=str(SAMPLES / "hand-cream.png"))])
    loc = LP(product_id="p", handle="mug", market="de", locale="de-DE", title=LocalizedText(text="Becher"),
             description=LocalizedText(text=""), price_text="24,00 €", cta=LocalizedText(text="Kaufen"))
    sc = Script(kind="ad", voiceover="Der beste Becher. Jetzt kaufen.")
    sb = build_storyboard(prod, loc, sc, mk, "ad", "9:16", job_key="k-session", profile="tiny")
    out = tmp_path_factory.mktemp("render")
    return sb, render(sb, out), out
