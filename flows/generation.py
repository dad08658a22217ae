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
from productreel.models import Finding, Storyboard
from productreel.settings import Settings


def generation_enabled(settings: Settings | None = None) -> bool:
    """True when this worker makes generated shots (PRODUCTREEL_BACKEND=diffusion, as the `gpu` pool sets)."""
    return (settings or Settings()).backend == "diffusion"


def generation_key(settings: Settings | None = None) -> dict[str, Any]:
    """What about the model changes a generated shot, for the job key; empty for the compose backend."""
    settings = settings or Settings()
    if not generation_enabled(settings):
        return {}
    from clips.diffusion import model_key

    return model_key(settings)


@task(name="generate-shots", retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=retry_transient,
      task_run_name="generate {storyboard.product_handle}/{storyboard.market}/{storyboard.kind}/{storyboard.format}")
def generate_shots(storyboard: Storyboard) -> tuple[Storyboard, list[Finding]]:
    """Fill every generated shot of a storyboard, holding one `gpu` slot while the model runs."""
    from clips.diffusion import fill_generated_shots

    with gpu_slot(storyboard.has_generated):
        return fill_generated_shots(storyboard, settings=Settings())
