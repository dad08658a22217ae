"""localize(): a product's text and price for one market, each string with its provenance."""

from __future__ import annotations

from productreel.models import Finding, LocalizedProduct, LocalizedText, Market, Product
from productreel.settings import Settings, get_settings

from .formatting import format_price, localize_units
from .prices import choose_price
from .translation import SOURCE_LANGUAGE, Request, Translator, catalog_translation

DEFAULT_CTA = "Shop now"


def localize(product: Product, market: Market, *, settings: Settings | None = None) -> LocalizedProduct:
    """The product's title, description, features, steps, CTA and price for ``market``.

    Strings: catalog translation, then glossary, then machine translation, then the source text
    (a finding says so). Price: the catalog's market price, else a conversion with the seller's
    exchange rates (a WARN finding), else none (``price_text`` None and a finding).
    """
    settings = settings or get_settings()
    source_language = str(getattr(settings, "source_language", SOURCE_LANGUAGE) or SOURCE_LANGUAGE)
    own = catalog_translation(product, market)
    translator = Translator(
        market,
        source_language=source_language,
        mt_model=settings.mt_model,
        protected={product.brand} if product.brand else set(),
        cache_dir=settings.cache_dir,
    )
    requests = [
        Request("title", product.title, own.title if own else None),
        Request("description", product.description, own.description if own else None),
    ]
    # A catalog translation of the list fields only counts when it has one entry per source entry.
    own_features = own.features if own and len(own.features) == len(product.features) else []
    own_steps = own.steps if own and len(own.steps) == len(product.steps) else []
    requests += [Request(f"features[{i}]", f, own_features[i] if own_features else None) for i, f in enumerate(product.features)]
    requests += [Request(f"steps[{i}]", s, own_steps[i] if own_steps else None) for i, s in enumerate(product.steps)]
    cta_req = None
    if not market.cta:
        cta_req = Request("cta", DEFAULT_CTA)
        requests.append(cta_req)
    translator.run(requests, product=product.handle)
    by_field = {r.field: r.result for r in requests}
    if market.measurement == "imperial":
        # Sizes and weights in the copy, in inches and pounds; titles are names and steps are
        # instructions whose metric amounts matter, so both stay as written.
        for name, text in by_field.items():
            if text is not None and (name == "description" or name.startswith("features[")):
                by_field[name] = text.model_copy(update={"text": localize_units(text.text, market)})

    if market.cta:
        # The market file's own wording, or the seller's glossary entry for it.
        hit = translator.glossary.lookup(market.cta) if translator.glossary else None
        cta = LocalizedText(text=hit or market.cta, origin="glossary")
    else:
        cta = cta_req.result if cta_req else None

    choice = choose_price(product, market, exchange_rates=settings.exchange_rates)
    findings: list[Finding] = list(translator.findings) + choice.findings
    price_text = compare_text = prior_text = None
    if choice.amount is not None:
        price_text = format_price(choice.amount, choice.currency, market)
        if choice.compare_at is not None:
            compare_text = format_price(choice.compare_at, choice.currency, market)
            if market.eu and market.prior_price_label:
                # PID Art. 6a / §11 PAngV: a shown reduction names the lowest price of the last 30 days.
                prior_text = market.prior_price_label.format(price=compare_text)
                findings.append(
                    Finding(
                        rule="PRICE-PRIOR",
                        severity="INFO",
                        message=(
                            f"reduction shown in market {market.code}: the compare-at price {compare_text} is stated as the "
                            "lowest price of the last 30 days; it must be"
                        ),
                        evidence={"compare_at": str(choice.compare_at), "price": str(choice.amount)},
                        source=product.source,
                    )
                )
            elif market.prior_price_label:
                prior_text = market.prior_price_label.format(price=compare_text)
    tax_text = market.tax_label if (market.tax_inclusive and price_text) else ""

    return LocalizedProduct(
        product_id=product.id,
        handle=product.handle,
        market=market.code,
        locale=market.locale,
        title=by_field["title"],
        description=by_field["description"],
        features=[by_field[f"features[{i}]"] for i in range(len(product.features))],
        steps=[by_field[f"steps[{i}]"] for i in range(len(product.steps))],
        cta=cta,
        price_amount=choice.amount,
        currency=choice.currency,
        price_text=price_text,
        compare_at_text=compare_text,
        prior_price_text=prior_text,
        tax_text=tax_text,
        findings=findings,
    )
