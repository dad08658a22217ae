"""Generated shots inside catalog-batch: a generate-shots task under the `gpu` limit, the model in the job key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.generation import generation_enabled, generation_key
from productreel.settings import Settings


def test_compose_backend_adds_nothing_to_the_job_key():
    settings = Settings(backend="compose")
    assert not generation_enabled(settings) and generation_key(settings) == {}


@pytest.mark.slow
def test_diffusion_backend_generates_shots_in_their_own_task(prefect_harness, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from clips.diffusion import build_tiny_pipeline
    from flows.catalog_batch import catalog_batch

    model = build_tiny_pipeline(tmp_path / "tiny-ltx", "ltx", seed=0)
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    # The backend and model are flow parameters (a GPU pool's workers may set them by environment instead).
    state = catalog_batch(limit=1, markets=["us"], kinds=["ad"], profile="tiny", out=str(out), backend="diffusion",
                          model=str(model), return_state=True)
    assert state.is_completed(), state.message

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
        gpu = client.read_global_concurrency_limit_by_name("gpu")
    generated = [r for r in runs if r.name.startswith("generate ")]
    assert len(generated) == 1 and generated[0].state.is_completed()
    assert gpu.active_slots == 0
    job = [j for j in json.loads((out / "summary.json").read_text())["jobs"] if j["kind"]][0]
    metadata = json.loads(open(job["clip"].replace(".mp4", ".json")).read())
    # Specific facts, not a substring: "diffusion" would match the temporary path of any clip.
    assert metadata["has_generated"] is True
    shots = metadata["inputs"]["generated"]
    assert len(shots) >= 1 and all(Path(p).is_file() for p in shots)
    sidecar = json.loads(Path(shots[0]).with_suffix(".json").read_text())
    assert (sidecar["kind"], sidecar["family"], sidecar["tiny"]) == ("generated", "ltx", True)
    assert Path(sidecar["model_path"]).resolve() == Path(model).resolve()
