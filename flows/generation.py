"""Generated shots as a Prefect task: one slot of the global `gpu` limit per call, retried on transient errors only.

A CUDA out-of-memory or a busy device is a TransientError (retried after a
pause); a missing model is an InputError (not retried). The `gpu` limit is
created with one slot per visible GPU (flows.orchestration.ensure_concurrency_limits)
and a team raises it with `prefect gcl update gpu --limit N` when it adds GPUs.
"""

from __future__ import annotations

from typing import Any

from prefect import task

from flows.orchestration import gpu_slot, retry_transient
from jobs.job import generation_key as _generation_key
from productreel.models import Finding, Storyboard
from productreel.settings import Settings


def generation_enabled(settings: Settings | None = None) -> bool:
    """True when this worker makes generated shots (backend diffusion: the run's choice, or the `gpu` pool's setting)."""
    return (settings or Settings()).backend == "diffusion"


def generation_key(settings: Settings | None = None) -> dict[str, Any]:
    """What about the model changes a generated shot, for the job key; empty for the compose backend."""
    return _generation_key(settings or Settings())


@task(name="generate-shots", retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=retry_transient,
      task_run_name="generate {storyboard.product_handle}/{storyboard.market}/{storyboard.kind}/{storyboard.format}")
def generate_shots(storyboard: Storyboard, model: str | None = None) -> tuple[Storyboard, list[Finding]]:
    """Fill every generated shot of a storyboard, holding one `gpu` slot while the model runs."""
    from clips.diffusion import fill_generated_shots

    settings = Settings(backend="diffusion", **({"model": model} if model else {}))
    with gpu_slot(storyboard.has_generated):
        return fill_generated_shots(storyboard, settings=settings)


def generate_in_task(storyboard: Storyboard, settings: Settings) -> tuple[Storyboard, list[Finding]]:
    """jobs.job.Generate for run_job: the generate-shots task, called from inside make-clip."""
    return generate_shots(storyboard, settings.model)
