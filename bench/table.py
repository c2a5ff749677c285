"""Print the README's benchmark table from bench/results/*.json (run after the benchmarks)."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _rss(result: dict) -> str:
    """The peak RSS of each measurement, where the benchmark recorded them."""
    peaks = result.get("peak_rss_mb")
    if not isinstance(peaks, dict):
        return ""
    return "; peak RSS " + ", ".join(f"{name.replace('_', ' ')} {mb:.0f} MB" for name, mb in peaks.items())


def main() -> None:
    rows = ["| benchmark | command | measured | target |", "|---|---|---|---|"]
    if repro := load("repro"):
        rows.append(f"| default `dvc repro`, clean clone | `python bench/repro.py` | {repro['total_seconds']:.0f} s "
                    f"({repro['total_seconds'] / 60:.1f} min) | ≤ 15 min (≤ 30 if the targets need it) |")
    if score := load("score"):
        rows.append(f"| scoring, 9 tasks × 1,000 predictions, no judge | `python bench/score.py` | "
                    f"{score['seconds']:.1f} s for {score['predictions']:,} | ≤ 3 s |")
    if render := load("render"):
        rows.append(f"| render + mix, SciRIFF-sized corpus | `python bench/render.py` | {render['seconds']:.1f} s for "
                    f"{render['instances']:,} instances, peak RSS {render['peak_rss_mb']:.0f} MB | ≤ 60 s, ≤ 2 GB |")
    if finetune := load("finetune"):
        for length in ("512", "1024"):
            f = finetune[length]
            rows.append(f"| finetune tokens/s at max length {length} | `python bench/finetune.py` | packed "
                        f"{f['packed_tokens_per_s']:.0f}, padded {f['padded_tokens_per_s']:.0f}, bound "
                        f"{f['bound_tokens_per_s']:.0f} (packed = {100 * f['packed_vs_bound']:.0f}% of bound); real "
                        f"tokens {100 * f['real_token_fraction']:.0f}% packed, "
                        f"{100 * f['padded_real_token_fraction']:.0f}% padded{_rss(f)} | packed ≥ 90% of bound; "
                        "real ≥ 95% |")
    if predict := load("predict"):
        rows.append(f"| generation, {predict['prompts']} prompts × {predict['new_tokens']} new tokens | "
                    f"`python bench/predict.py` | batched {predict['batched_tokens_per_s']:.0f} tok/s vs sequential "
                    f"{predict['sequential_tokens_per_s']:.0f} ({predict['speedup']:.1f}×){_rss(predict)} | ≥ 4× |")
    if judge := load("judge"):
        rows.append(f"| local judge: `sciriff score-file`, {judge['predictions']} predictions "
                    f"({judge['judged_rows']} judged), cold cache | `python bench/judge.py` | "
                    f"{judge['seconds']:.0f} s | ≤ 60 s |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
