"""One job, from inputs to outcome, as plain functions (no Prefect).

A job is one (product, market, clip kind, format). ``jobs.plan`` reads the
catalog and lists the jobs; ``jobs.job`` computes a job's inputs once
(``JobInputs``: market, localized product, script, key) and runs it
(``run_job`` -> ``productreel.models.JobOutcome``); ``jobs.outputs`` writes the
run's summary.json and review page from the outcomes. flows/ wires these into
Prefect tasks; nothing here imports Prefect.
"""
