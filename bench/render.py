"""Render + mix over a SciRIFF-sized corpus (137K instances, long contexts) on this machine.

Grows the bundled sample with `sciriff synth` (data/raw must exist: `dvc repro ingest`), then times
render (templates, split standardization, subsampling, token counting with the base model's
tokenizer) and mix, and writes bench/results/render.json with `instances`, `seconds` and
`peak_rss_mb` (an upper bound on the memory in use at once: this process's peak plus, per render
worker process, the largest worker's peak; synth is not timed).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sciriff.catalog import load_catalog  # noqa: E402
from sciriff.io import write_json  # noqa: E402
from sciriff.mix import run_mix  # noqa: E402
from sciriff.params import load_params  # noqa: E402
from sciriff.render import run_render  # noqa: E402
from sciriff.synth import SCIRIFF_INSTANCES, run_synth  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=SCIRIFF_INSTANCES)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "render.json")
    args = parser.parse_args()
    params = load_params(REPO / "params.yaml")
    tasks = list(load_catalog(REPO / "templates").values())
    render_params = params.render.model_copy(update={"context_window": 4096})  # the paper's window
    with tempfile.TemporaryDirectory(prefix="sciriff-render-bench-") as work:
        work = Path(work)
        run_synth(tasks, REPO / "data" / "raw", work / "raw", args.instances)
        start = time.perf_counter()
        manifest = run_render(tasks, render_params, REPO / "models" / "base", work / "raw", work / "rendered",
                              work / "counts.csv")
        rendered = time.perf_counter()
        mix = run_mix(params.mix.model_copy(update={"per_task": 1000}), work / "rendered", work / "raw", work / "mix")
        end = time.perf_counter()
    instances = sum(sum(stats["splits"].values()) for stats in manifest.values())
    workers = os.cpu_count() or 1
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + workers * worker_peak
    result = {"instances": instances, "seconds": round(end - start, 1), "render_seconds": round(rendered - start, 1),
              "mix_seconds": round(end - rendered, 1), "mix_total": mix["total"], "peak_rss_mb": round(peak, 1),
              "worker_peak_rss_mb": round(worker_peak, 1), "cpus": workers,
              "tasks": len(tasks)}
    write_json(args.out, result)
    print(result)


if __name__ == "__main__":
    main()
