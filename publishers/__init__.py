"""Publishers: storefront and folder destinations, idempotent by job key."""
