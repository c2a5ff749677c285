"""Stages `general_predict` and `general_score` (one model each): does the model keep its general ability?

The paper's second claim is that finetuning on the science mix costs at most ~2% of general ability.
`general_predict` answers the held-out general instructions (data/raw/general_test.jsonl, never in the
mix) greedily with `predict.*`'s backend. `general_score` has the configured LM judge (`score.judge`:
the same client, cache and retries as `score`) compare each answer with the reference model's answer
to the same instruction, AlpacaEval-style, in both orders (model as Response A, then as Response B) to
cancel position bias; a rating of 1-2 is a win for A, 3 a tie (half), 4-5 a win for B. The win rate
(0-100) has a seeded 95% bootstrap interval over instructions. The reference model's own win rate is
50 by construction and is not judged. Beside it: the lm-evaluation-harness scores (general_harness)
and the retention ratio, this model's harness mean over the reference model's.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from sciriff.io import read_json, read_jsonl, stable_seed, write_json, write_jsonl
from sciriff.params import GeneralParams, PredictParams, ScoreParams
from sciriff.tracking import mlflow_run

JUDGE_PROMPT = """You are comparing two AI assistant responses to the same user instruction. Decide which response \
follows the instruction better: more helpful, more correct, more relevant and clearer. Do not let the order of \
the responses or their length influence you.

[Instruction]
{instruction}

[Response A]
{a}

[Response B]
{b}

Explain your judgement in one or two sentences, then rate on a scale of 1 to 5: 1 = Response A is clearly \
better, 2 = Response A is slightly better, 3 = they are equally good, 4 = Response B is slightly better, \
5 = Response B is clearly better. End your reply with a line of the form "Rating: <digit>"."""
RATING = re.compile(r"Rating:\s*\**\s*([1-5])")
ORDERS = ("model_first", "model_second")  # the evaluated model as Response A, then as Response B


def run_general_predict(model_name: str, model_dir: str | Path, predict: PredictParams, params: GeneralParams,
                        test_file: str | Path = "data/raw/general_test.jsonl",
                        out_dir: str | Path = "data/general/predictions") -> int:
    """Answer every held-out general instruction greedily; returns how many were answered."""
    from sciriff.generation import make_generator
    from sciriff.predict import require_chat_template

    rows = list(read_jsonl(test_file))
    if not rows:
        raise ValueError(f"{test_file}: no held-out general instructions")
    if predict.backend != "openai":  # an endpoint applies its own template; a local checkpoint must carry one
        require_chat_template(model_name, model_dir)
    settings = {"do_sample": False, "num_beams": 1, "max_new_tokens": params.max_new_tokens, "dtype": predict.dtype}
    generator = make_generator(model_dir, predict.model_copy(update={"max_new_tokens": params.max_new_tokens}))
    answers = dict(generator.generate([r["messages"][:-1] for r in rows], params.max_new_tokens))
    missing = [rows[i]["id"] for i in range(len(rows)) if i not in answers]
    if missing:
        raise RuntimeError(f"general_predict {model_name}: no answer for {missing[:5]} ({len(missing)} in all)")
    records = [{"id": r["id"], "dataset": r["dataset"], "input": r["messages"][0]["content"],
                "reference": r["messages"][-1]["content"], "prediction": answers[i], "model": model_name,
                "backend": generator.name, "decoding": settings} for i, r in enumerate(rows)]
    return write_jsonl(Path(out_dir) / f"{model_name}.jsonl", sorted(records, key=lambda r: r["id"]))


def judge_prompt(instruction: str, a: str, b: str) -> str:
    return JUDGE_PROMPT.format(instruction=instruction.strip(), a=a.strip() or "(empty response)",
                               b=b.strip() or "(empty response)")


def parse_rating(reply: str) -> int | None:
    """The digit after the first `Rating:` cue; None when the judge gave none."""
    match = RATING.search(reply)
    return int(match.group(1)) if match else None


def model_outcome(rating: int | None, order: str) -> float:
    """1 when the evaluated model's response is preferred, 0 when the reference's is, 0.5 for a tie or no rating."""
    if rating is None or rating == 3:
        return 0.5
    a_wins = rating < 3
    return float(a_wins if order == "model_first" else not a_wins)


def win_rate_interval(per_prompt: list[float], replicates: int, seed: int) -> list[float]:
    """95% percentile bootstrap over instructions (seeded: the same draws for every model)."""
    values = np.asarray(per_prompt, dtype=float)
    rng = np.random.default_rng(stable_seed("general-win-rate", seed))
    means = values[rng.integers(0, len(values), size=(replicates, len(values)))].mean(axis=1) * 100
    return [round(float(np.percentile(means, 2.5)), 2), round(float(np.percentile(means, 97.5)), 2)]


def judge_pairs(model_rows: list[dict], reference_rows: list[dict], judge: Any) -> list[dict]:
    """Both orders for every instruction, judged in one batch; one detail row per (instruction, order)."""
    from sciriff.evaluation.judge import fail_on_judge_errors

    reference = {r["id"]: r for r in reference_rows}
    if set(reference) != {r["id"] for r in model_rows}:
        raise ValueError("general_score: the model and the reference model answered different instruction ids "
                         f"({sorted({r['id'] for r in model_rows} ^ set(reference))[:5]})")
    jobs = []
    for row in model_rows:
        ours, theirs = row["prediction"], reference[row["id"]]["prediction"]
        jobs.append((row["id"], "model_first", judge_prompt(row["input"], ours, theirs)))
        jobs.append((row["id"], "model_second", judge_prompt(row["input"], theirs, ours)))
    replies = judge.complete([prompt for _, _, prompt in jobs])
    fail_on_judge_errors(judge)
    details = []
    for (instance_id, order, _), reply in zip(jobs, replies, strict=True):
        if reply is None:  # an answer missing without a recorded error: never counted as a tie
            raise RuntimeError(f"score.judge: no reply for '{instance_id}' ({order}) from judge {judge.name!r}")
        rating = parse_rating(reply)
        details.append({"id": instance_id, "order": order, "reply": reply, "rating": rating,
                        "outcome": model_outcome(rating, order)})
    return details


def summarize_judgments(details: list[dict], replicates: int, seed: int) -> dict[str, Any]:
    """Win rate (ties half), its interval, the win/tie/loss counts and how often the judge preferred A."""
    per_prompt: dict[str, list[float]] = {}
    for row in details:
        per_prompt.setdefault(row["id"], []).append(row["outcome"])
    scores = [sum(v) / len(v) for _, v in sorted(per_prompt.items())]
    rated = [row for row in details if row["rating"] is not None]
    return {
        "win_rate": round(100 * sum(scores) / len(scores), 2),
        "ci95": win_rate_interval(scores, replicates, seed),
        "instructions": len(scores),
        "judgments": len(details),
        "wins": sum(row["outcome"] == 1 for row in details),
        "ties": sum(row["outcome"] == 0.5 for row in details),
        "losses": sum(row["outcome"] == 0 for row in details),
        "unrated": len(details) - len(rated),
        "prefers_a": round(sum(row["rating"] < 3 for row in rated) / len(rated), 4) if rated else None,
    }


def _harness(harness_dir: Path, model: str) -> dict[str, Any]:
    path = harness_dir / model / "scores.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no harness scores for model '{model}' (run `sciriff general-harness`)")
    return read_json(path)


def run_general_score(model_name: str, reference_model: str, params: ScoreParams,
                      predictions_dir: str | Path = "data/general/predictions",
                      harness_dir: str | Path = "data/general/harness",
                      details_dir: str | Path = "data/general/scores",
                      metrics_dir: str | Path = "metrics/general") -> dict[str, Any]:
    """Judge one model against the reference and add its harness scores and retention; returns the document."""
    from sciriff.evaluation.judge import make_judge

    model_rows = list(read_jsonl(Path(predictions_dir) / f"{model_name}.jsonl"))
    reference_rows = list(read_jsonl(Path(predictions_dir) / f"{reference_model}.jsonl"))
    harness, reference_harness = _harness(Path(harness_dir), model_name), _harness(Path(harness_dir), reference_model)
    if list(harness["tasks"]) != list(reference_harness["tasks"]):
        raise ValueError(f"general_score: harness tasks of '{model_name}' {list(harness['tasks'])} differ from the "
                         f"reference model's {list(reference_harness['tasks'])}: rerun general_harness for both")
    judge = make_judge(params.judge) if model_name != reference_model else None
    with mlflow_run(f"general_score@{model_name}", {"model": model_name, "reference_model": reference_model,
                                                    "judge": params.judge.model_dump()}) as mlflow:
        if model_name == reference_model:
            details = []
            judged = {"win_rate": 50.0, "ci95": [50.0, 50.0], "instructions": len(model_rows),
                      "note": "the reference model against itself: 50 by construction, not judged"}
        elif judge is None:
            details = []
            judged = {"win_rate": None, "ci95": None, "instructions": len(model_rows),
                      "note": "score.judge.backend is none: no win rate"}
        else:
            details = judge_pairs(model_rows, reference_rows, judge)
            judged = summarize_judgments(details, params.intervals.replicates, params.intervals.seed)
        mean, reference_mean = harness["mean"], reference_harness["mean"]
        document = {
            "model": model_name,
            "reference_model": reference_model,
            "judge": None if model_name == reference_model else (judge.name if judge else None),
            "pairwise": judged,
            "harness": {name: {k: v for k, v in entry.items() if k in ("score", "metric", "tasks", "n")}
                        for name, entry in harness["tasks"].items()},
            "harness_mean": mean,
            "reference_harness": {name: entry["score"] for name, entry in reference_harness["tasks"].items()},
            "reference_harness_mean": reference_mean,
            "retention": round(mean / reference_mean, 4) if reference_mean else None,
        }
        write_jsonl(Path(details_dir) / model_name / "judgments.jsonl", details)
        write_json(Path(details_dir) / model_name / "metrics.json", document)
        compact = compact_general(document)
        write_json(Path(metrics_dir) / f"{model_name}.json", compact)
        mlflow.log_metrics({f"general/{k}": v for k, v in _flat(compact).items() if v is not None})
    return document


def compact_general(document: dict[str, Any]) -> dict[str, Any]:
    """metrics/general/<model>.json: win rate with its interval, each harness score, the mean and retention."""
    pairwise = document["pairwise"]
    ci = pairwise.get("ci95") or [None, None]
    return {
        "win_rate": pairwise["win_rate"],
        "win_rate_low": ci[0],
        "win_rate_high": ci[1],
        "harness": {name: round(entry["score"], 2) for name, entry in document["harness"].items()},
        "harness_mean": round(document["harness_mean"], 2),
        "retention": document["retention"],
    }


def _flat(compact: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in compact.items() if not isinstance(v, dict)}
    flat.update({f"harness/{k}": v for k, v in compact["harness"].items()})
    return flat
