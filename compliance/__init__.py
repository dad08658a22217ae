"""Compliance: rules as data per market and destination, checked on the rendered clip."""
