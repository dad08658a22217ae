"""Localization: markets, Babel/CLDR formatting, translation with provenance, fonts, subtitles."""
