"""Prefect flows and the `productreel` CLI on top of them; the only room that imports Prefect."""
