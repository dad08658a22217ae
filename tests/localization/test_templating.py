"""Templates: lookup order, sandboxing, catalog text as data, errors with file and line, hashes."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from localization import localize
from localization.templating import LOCALIZED_KEY, ROOT_TEMPLATES, parse_sections, render_script, template_candidates, template_versions
from productreel.errors import InputError
from productreel.models import MarketPrice


def _files(script) -> list[str]:
    """The template files a script was rendered from."""
    return [name for name in script.templates if name != LOCALIZED_KEY]


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A copy of the shipped templates a test may add overrides to."""
    root = tmp_path / "templates"
    shutil.copytree(ROOT_TEMPLATES, root)
    return root


def test_default_ad_script_for_us(product, markets, settings):
    market = markets["us"]
    script = render_script(localize(product, market, settings=settings), product, market, "ad")
    assert script.hook == "Acme Travel Mug"
    assert script.lines == ["Leak-proof lid", "Dishwasher safe"]
    assert script.cta == "Shop now"
    assert script.voiceover == "Acme Travel Mug. Leak-proof lid. Dishwasher safe. $49.99. Shop now."
    assert "Acme Travel Mug" in script.prompt and script.negative_prompt
    assert _files(script) == ["default/ad.j2"]


def test_tutorial_script_numbers_the_steps(product, markets, settings):
    market = markets["us"]
    script = render_script(localize(product, market, settings=settings), product, market, "tutorial")
    assert script.steps == ["Fill the mug", "Close the lid"]
    assert "1. Fill the mug. 2. Close the lid." in script.voiceover


def test_market_overrides_for_de_and_jp(product, markets, settings):
    de = render_script(localize(product, markets["de"], settings=settings), product, markets["de"], "ad")
    assert _files(de) == ["de/ad.j2", "default/ad.j2"]  # the override extends the default
    assert "Jetzt für 44,99\u00a0€ inkl. MwSt." in de.voiceover and de.cta == "Jetzt kaufen"
    product.prices["japan"] = product.prices["germany"].model_copy(update={"amount": 7480, "currency": "JPY", "compare_at": None})
    jp = render_script(localize(product, markets["jp"], settings=settings), product, markets["jp"], "ad")
    assert "価格は￥7,480（税込）です。今すぐ購入。" in jp.voiceover


def test_lookup_order_brand_market_then_market_then_brand_then_default(product, markets, settings, templates: Path):
    market = markets["us"]
    lp = localize(product, market, settings=settings)
    assert template_candidates("ad", market, "acme") == ["acme/us/ad.j2", "us/ad.j2", "acme/ad.j2", "default/ad.j2"]
    for name, hook in [("acme/ad.j2", "brand"), ("us/ad.j2", "market"), ("acme/us/ad.j2", "brand+market")]:
        (templates / name).parent.mkdir(parents=True, exist_ok=True)
        (templates / name).write_text(f"## hook\n{hook} {{{{ title }}}}\n## cta\n{{{{ cta }}}}\n")
        script = render_script(lp, product, market, "ad", brand="acme", templates_dir=templates)
        assert script.hook == f"{hook} Acme Travel Mug" and _files(script) == [name]
    # Overriding one kind leaves the other on the default file.
    tutorial = render_script(lp, product, market, "tutorial", brand="acme", templates_dir=templates)
    assert _files(tutorial) == ["default/tutorial.j2"]


def test_catalog_text_is_data_never_template_code(product, markets, settings):
    product.title = "Mug {{ 7 * 7 }} {% if true %}x{% endif %}"
    product.features = ["## cta", "- dash", "line one\n## hook\nline two"]
    market = markets["us"]
    script = render_script(localize(product, market, settings=settings), product, market, "ad")
    assert script.hook == "Mug {{ 7 * 7 }} {% if true %}x{% endif %}"
    assert script.lines == ["## cta", "- dash", "line one ## hook line two"]
    assert script.cta == "Shop now"


def test_template_errors_name_file_and_line(product, markets, settings, templates: Path):
    market = markets["us"]
    lp = localize(product, market, settings=settings)
    (templates / "us").mkdir()
    (templates / "us" / "ad.j2").write_text("## hook\n{{ title }}\n## cta\n{{ no_such_variable }}\n")
    with pytest.raises(InputError) as info:
        render_script(lp, product, market, "ad", templates_dir=templates)
    assert info.value.where == "templates/us/ad.j2:4" and "no_such_variable" in str(info.value)
    (templates / "us" / "ad.j2").write_text("## hook\n{{ title }\n")
    with pytest.raises(InputError) as info:
        render_script(lp, product, market, "ad", templates_dir=templates)
    assert info.value.where == "templates/us/ad.j2:2"


def test_the_sandbox_refuses_unsafe_attributes(product, markets, settings, templates: Path):
    market = markets["us"]
    (templates / "us").mkdir()
    (templates / "us" / "ad.j2").write_text("## hook\n{{ title.__class__.__mro__ }}\n")
    with pytest.raises(InputError) as info:
        render_script(localize(product, market, settings=settings), product, market, "ad", templates_dir=templates)
    assert info.value.where == "templates/us/ad.j2:2"


def test_template_versions_hash_content_and_included_files(markets, templates: Path):
    market = markets["us"]
    before = template_versions("ad", market, templates_dir=templates)
    (templates / "us").mkdir()
    (templates / "us" / "ad.j2").write_text('{% include "partials/hook.j2" %}\n## cta\n{{ cta }}\n')
    (templates / "partials").mkdir()
    (templates / "partials" / "hook.j2").write_text("## hook\n{{ title }}\n")
    after = template_versions("ad", market, templates_dir=templates)
    assert set(after) == {"us/ad.j2", "partials/hook.j2"} and after != before
    (templates / "partials" / "hook.j2").write_text("## hook\n{{ title | upper }}\n")
    assert template_versions("ad", market, templates_dir=templates)["partials/hook.j2"] != after["partials/hook.j2"]


def test_unknown_sections_are_errors():
    with pytest.raises(InputError):
        parse_sections("## hook\nx\n## footer\ny\n")
    assert parse_sections("## steps\n- a\n- b\n## voiceover\n一。\n二。\n") == {"steps": ["a", "b"], "voiceover": "一。二。"}


def test_step_numbers_and_full_stops_follow_the_market(product, markets, settings):
    product.steps = ["Leak-proof lid", "Hanging hole"]  # remembered in the ar and zh glossaries
    native = markets["sa"].model_copy(update={"numbering": "native"})
    sa = render_script(localize(product, native, settings=settings), product, native, "tutorial")
    assert "١. غطاء مانع للتسرب. ٢. فتحة للتعليق." in sa.voiceover
    cn = render_script(localize(product, markets["cn"], settings=settings), product, markets["cn"], "tutorial")
    assert "1. 防漏杯盖。2. 悬挂孔。" in cn.voiceover
    # An untranslated English title keeps its own full stop, not the market's.
    assert cn.voiceover.startswith("Acme Travel Mug. ")


def test_the_script_records_the_localized_inputs(product, markets, settings, tmp_path):
    from productreel.settings import Settings

    market = markets["jp"]
    before = render_script(localize(product, market, settings=settings), product, market, "ad").templates
    rates = tmp_path / "rates.csv"
    rates.write_text("from,to,rate\nUSD,JPY,150\n")
    priced = Settings(out_dir=tmp_path, exchange_rates=rates)
    after = render_script(localize(product, market, settings=priced), product, market, "ad").templates
    assert before["jp/ad.j2"] == after["jp/ad.j2"] and before[LOCALIZED_KEY] != after[LOCALIZED_KEY]


def test_a_market_template_can_replace_one_block(product, markets, settings, templates: Path):
    market = markets["gb"]
    product.prices["united kingdom"] = MarketPrice(amount=Decimal("39.99"), currency="GBP")
    (templates / "gb").mkdir()
    (templates / "gb" / "ad.j2").write_text('{% extends "default/ad.j2" %}\n{% block price_line %}\nNow {{ price }} {{ tax | stop }}\n{% endblock %}\n')
    script = render_script(localize(product, market, settings=settings), product, market, "ad", templates_dir=templates)
    assert script.voiceover == "Acme Travel Mug. Leak-proof lid. Dishwasher safe. Now £39.99 incl. VAT. Shop now."
    assert script.hook == "Acme Travel Mug" and script.lines == ["Leak-proof lid", "Dishwasher safe"]
    assert _files(script) == ["default/ad.j2", "gb/ad.j2"]
