"""Compliance test helpers: markets built directly, localized products, storyboards, one text rule at a time."""

from __future__ import annotations

from pathlib import Path

from productreel.models import LocalizedProduct, LocalizedText, Market

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


def text_findings(rule_id: str, code: str, text: str, *, destination: str = "folder", lp=None, book=None):
    """Findings of one text rule on a script text alone (no clip decoded): the rule table's unit."""
    from compliance.context import Context
    from compliance.engine import _checks
    from compliance.rules import load_rules

    book = book or load_rules()
    rule = book.get(rule_id)
    assert rule is not None, rule_id
    m = market(code)
    assert rule.applies(m.code, eu=m.eu, destination=destination), f"{rule_id} does not apply to {code}/{destination}"
    ctx = Context(path=Path("/nonexistent.mp4"), market=m, destination=destination, book=book, script_text=text, lp=lp)
    return _checks()[rule.type](rule, ctx)


def storyboard(code: str, *, generated: bool = False, kind: str = "ad", width: int = 270, height: int = 480, duration: float = 2.0, **kw):
    """A one-scene storyboard: what check_clip learns 'generated' and the clip kind from."""
    from productreel.models import Scene, Shot, Storyboard

    shot = Shot(kind="generated", prompt="a mug") if generated else Shot(kind="color")
    return Storyboard(job_key="job1", product_handle="mug", market=code, locale=MARKETS[code]["locale"], kind=kind, format="9:16",
                      width=width, height=height, fps=10, scenes=[Scene(duration=duration, shot=shot)], **kw)
