"""Time the default `dvc repro` end to end from a clean clone, per stage.

Clones the committed HEAD into a temporary directory (or --workdir), runs `dvc repro` with this
environment's tools on PATH and an empty model cache (so the PyPI download is timed too), and writes
bench/results/repro.json: {"total_seconds", "stages": {stage: seconds}, "headline": {model: metrics/<model>.json}}.
A stage's time runs from its "Running stage" line to the next one (or the end).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from sciriff.io import write_json  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, help="clone here and keep it (default: a temporary directory)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "repro.json")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sciriff-repro-"))
    subprocess.run(["git", "clone", "-q", str(REPO), str(workdir)], check=True)
    # PYTHONPATH: the clone runs its own sources, not the editable install's checkout.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(workdir / "src"),
           "SCIRIFF_CACHE": str(workdir / ".cache" / "downloads"),
           "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}"}
    stages: dict[str, float] = {}
    current, started = None, time.perf_counter()
    begin = started
    with subprocess.Popen(["dvc", "repro"], cwd=workdir, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            sys.stdout.write(line)
            if line.startswith("Running stage '"):
                now = time.perf_counter()
                if current:
                    stages[current] = round(now - started, 1)
                current, started = line.split("'")[1], now
    end = time.perf_counter()
    if current:
        stages[current] = round(end - started, 1)
    if proc.returncode:
        sys.exit(f"dvc repro failed in {workdir} (exit {proc.returncode})")
    headline = {m: json.loads((workdir / "metrics" / f"{m}.json").read_text()) for m in ("baseline", "scitulu")}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=workdir, capture_output=True, text=True,
                            check=True).stdout.strip()
    write_json(args.out, {"total_seconds": round(end - begin, 1), "stages": stages, "headline": headline,
                          "workdir": str(workdir), "cpus": os.cpu_count(), "commit": commit})
    print(json.dumps({"total_seconds": round(end - begin, 1), "stages": stages}, indent=2))


if __name__ == "__main__":
    main()
