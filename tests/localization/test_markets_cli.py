"""`productreel markets` prints one table row per market (the lead's command over markets_table)."""

from __future__ import annotations

from typer.testing import CliRunner


def test_markets_command_lists_every_market(markets):
    from flows.cli import app

    result = CliRunner().invoke(app, ["markets"])
    assert result.exit_code == 0, result.output
    for market in markets.values():
        assert market.code in result.output and market.currency in result.output
