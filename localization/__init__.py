"""Localization: markets, Babel/CLDR formatting, translation with provenance, fonts, subtitles."""

from .formatting import format_price
from .localizer import localize
from .markets import get_market, load_markets

__all__ = ["format_price", "get_market", "load_markets", "localize"]
