"""Translation cache: localizing the sample catalog for two markets, cold (empty cache) and warm (a rerun).

Both runs use the same tiny random MarianMT models (localization/mt_tiny.py; their answers are
short, so this measures the pipeline and the cache, not a real model's speed, which the cache
saves far more of), placed in a throwaway Hugging Face cache as `productreel models pull mt`
leaves them. The baseline is the cold run of the same process: every sentence goes to the model.
The warm run asks the model nothing. Prints CPU and wall seconds, model calls, and
`warm_vs_cold_cpu=<ratio>` last.

    .venv/bin/python bench/mt.py [--markets de,jp] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", default="de,jp")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs (the best one is reported)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-mt-"))
    os.environ["HF_HUB_CACHE"] = str(work / "hub")
    os.environ["PRODUCTREEL_MODEL_CATALOG"] = str(work / "catalog")
    os.environ.pop("PRODUCTREEL_MT_MODEL", None)

    import yaml

    from catalog_adapters import open_catalog
    from localization import localize, mt
    from localization.markets import get_markets
    from localization.mt_tiny import build_tiny_mt, place_in_hub_cache, tiny_files
    from productreel.settings import Settings

    markets = get_markets(args.markets)
    entries = []
    for i, market in enumerate(markets):
        lang = market.language
        folder = build_tiny_mt(work / "build" / lang, "en", lang)
        commit = f"{i + 1:040x}"
        place_in_hub_cache(folder, f"bench/tiny-opus-mt-en-{lang}", commit, work / "hub")
        entries.append({"id": f"tiny-opus-mt-en-{lang}", "backend": "marian", "repo": f"bench/tiny-opus-mt-en-{lang}",
                        "revision": commit, "files": tiny_files(folder), "licence": "CC-BY-4.0", "ads": True,
                        "languages": [f"en-{lang}"], "why": "bench"})
    (work / "catalog").mkdir()
    (work / "catalog" / "mt.yaml").write_text(yaml.safe_dump({"models": entries}), encoding="utf-8")
    products = list(open_catalog(ROOT / "samples" / "catalog.csv").products())
    # The sample catalog carries German and Japanese translations: drop them, as most catalogs have none.
    products = [p.model_copy(update={"translations": {}}) for p in products]

    calls = {"n": 0, "texts": 0}
    real = mt.translate_batch

    def counted(texts, *a, **kw):
        calls["n"] += 1
        calls["texts"] += len(texts)
        return real(texts, *a, **kw)

    mt.translate_batch = counted
    for market in markets:  # load each model once, outside the timings (a run loads it once too)
        mt.load_model(str(mt.choose(None, market, "en").path))

    def run(cache_dir: Path) -> tuple[float, float, int, int, int]:
        calls.update(n=0, texts=0)
        settings = Settings(cache_dir=cache_dir)
        cpu, wall = time.process_time(), time.perf_counter()
        machine = 0
        for product in products:
            for market in markets:
                lp = localize(product, market, settings=settings)
                machine += sum(1 for s in lp.strings() if s.origin == "machine")
        return time.process_time() - cpu, time.perf_counter() - wall, calls["n"], calls["texts"], machine

    cold = run(work / "cache")
    warm = min((run(work / "cache") for _ in range(max(1, args.repeat))), key=lambda r: r[0])
    print(f"products={len(products)} markets={args.markets} machine_strings={cold[4]}")
    print(f"cold: cpu={cold[0]:.3f}s wall={cold[1]:.3f}s model_calls={cold[2]} sentences_translated={cold[3]}")
    print(f"warm: cpu={warm[0]:.3f}s wall={warm[1]:.3f}s model_calls={warm[2]} sentences_translated={warm[3]}")
    print(f"warm_vs_cold_cpu={warm[0] / cold[0]:.3f}")


if __name__ == "__main__":
    main()
