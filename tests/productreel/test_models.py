from decimal import Decimal

from productreel.models import Product, Variant


def _product(**kw):
    base = dict(id="1", handle="mug", title="Mug", variants=[Variant(sku="M1", price=Decimal("12.00"))])
    base.update(kw)
    return Product(**base)


def test_content_hash_changes_with_price_not_with_source_location():
    a = _product()
    assert a.content_hash == _product(source="other.csv:9").content_hash
    assert a.content_hash != _product(variants=[Variant(sku="M1", price=Decimal("13.00"))]).content_hash


def test_price_is_lowest_variant_and_compare_at_only_when_higher():
    p = _product(variants=[Variant(price=Decimal("20"), compare_at_price=Decimal("25")), Variant(price=Decimal("15"))])
    assert p.price == Decimal("15")
    assert p.compare_at_price is None
