"""Benchmark: `sciriff score-file` with the default local judge on the committed SciTulu predictions.

Every evaluation task's predictions (data/predictions/scitulu) go into one file, scored the way a
user scores external predictions, with params.yaml's judge and an empty judge cache (so each Qasper
and MUP row is judged, none replayed). Reports the wall time of the whole command (model loading
included) and writes bench/results/judge.json.

    .venv/bin/python bench/judge.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from sciriff.evaluation import EVALUATORS  # noqa: E402
from sciriff.io import read_jsonl, write_json, write_jsonl  # noqa: E402

# the tasks whose summary has an LM-judge column (Qasper, MUP), from the scorer registry
JUDGED_TASKS = {e.task for e in EVALUATORS.values() if any(k.startswith("lm_judge") for k in e.summary_keys)}


def main() -> None:
    rows = [r for path in sorted((REPO / "data" / "predictions" / "scitulu").glob("*.jsonl")) for r in read_jsonl(path)]
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    with tempfile.TemporaryDirectory(prefix="sciriff-judge-bench-") as tmp:
        work = Path(tmp)
        params["score"]["judge"]["cache"] = str(work / "judge.sqlite")  # cold: every judged row is generated
        params["score"]["judge"]["model"] = str(REPO / params["score"]["judge"]["model"])
        (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        write_jsonl(work / "predictions.jsonl", rows)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sciriff.cli", "--params", str(work / "params.yaml"), "score-file",
                        "--predictions", str(work / "predictions.jsonl"), "--out", str(work / "scores")],
                       check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
    judge = params["score"]["judge"]
    result = {"seconds": round(seconds, 1), "predictions": len(rows),
              "judged_rows": sum(r["task"] in JUDGED_TASKS for r in rows),
              "judge": {"backend": judge["backend"], "max_tokens": judge["max_tokens"]}}
    write_json(REPO / "bench" / "results" / "judge.json", result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
