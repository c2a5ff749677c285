"""Stage `annotate`: SciGLM's self-reflective instruction annotation of the train problems.

For up to `annotate.max_rounds` rounds (1: CoT, 2: reflection with the wrong solution and the
correct answer, 3: prompt-with-answer), the teacher writes a solution for every problem not yet
solved; the rule checker judges its final answer, and the LM checker (`score.judge`, a prompt ending
in `Rating: <1-5>`, correct when the rating >= `annotate.lm_check_min_rating`) judges what the rules
cannot decide. Each problem records every attempt and the round that made it correct (or none).
Statistics: prompts per round outcome and failures in stats.json (deterministic, so a forced rerun
is byte-identical); the calls and cache hits of this run (which depend on the cache) are returned,
printed and logged to MLflow only.
An empty reply, a reply without a final answer or an unreadable LM rating is counted as a failure
with the problem's id and place, and is never correct. A teacher or judge call that fails for good
stops the stage before any output is written; the replies already received stay in the caches.
Output: data/sciinstruct/annotated/{solutions.jsonl, failures.jsonl, stats.json}.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sciriff.io import atomic_path, dumps, read_jsonl, write_json
from sciriff.params import AnnotateParams, JudgeParams
from sciriff.sciinstruct.checker import check_answer, extract_final_answer, lm_check_prompt, parse_rating
from sciriff.sciinstruct.prompts import ROUNDS, round_prompt, solution_from_reply
from sciriff.sciinstruct.teacher import describe, fail_on_errors, make_teacher
from sciriff.tracking import mlflow_run, numeric_metrics


def run_annotate(params: AnnotateParams, judge: JudgeParams, problems_dir: str | Path = "data/sciinstruct/problems",
                 out_dir: str | Path = "data/sciinstruct/annotated") -> dict[str, Any]:
    """Annotate the train problems; returns the statistics written to stats.json."""
    problems_dir = Path(problems_dir)
    problems = list(read_jsonl(problems_dir / "train.jsonl"))[: params.max_problems]
    rejected = list(read_jsonl(problems_dir / "rejected.jsonl"))
    teacher = make_teacher(params.teacher, params.max_new_tokens)
    checker = _LMChecker(judge)
    attempts: dict[str, list[dict]] = {p["id"]: [] for p in problems}
    accepted: dict[str, int | None] = dict.fromkeys(attempts)
    failures: list[dict] = [{"id": r["id"], "where": r["where"], "round": None, "kind": "rejected_input",
                             "detail": r["reason"]} for r in rejected]
    with mlflow_run("annotate", {"annotate": params.model_dump(exclude={"eval", "classifier"}),
                                 "judge": judge.model_dump()}) as mlflow:
        for number, kind in enumerate(ROUNDS[: params.max_rounds], start=1):
            pending = [p for p in problems if accepted[p["id"]] is None]
            if not pending:
                break
            prompts = [round_prompt(kind, p, attempts[p["id"]][-1]["solution"] if attempts[p["id"]] else "")
                       for p in pending]
            # An endpoint teacher answers chunk by chunk, so one that is down fails the stage after one
            # chunk of retries; the local teacher gets the whole round (it batches by length itself).
            chunk = 4 * params.teacher.concurrency if params.teacher.backend == "openai" else len(prompts)
            replies: list[str | None] = []
            with tqdm(total=len(prompts), desc=f"annotate round {number} ({kind})", unit="problem") as bar:
                for start in range(0, len(prompts), chunk):
                    replies += teacher.complete(prompts[start : start + chunk])
                    fail_on_errors("annotate.teacher", teacher, pending, prompts)
                    bar.update(len(prompts[start : start + chunk]))
            undecided = []
            for problem, prompt, reply in zip(pending, prompts, replies, strict=True):
                attempt = _judge_by_rules(number, kind, problem, prompt, reply or "", params.rel_tol)
                attempts[problem["id"]].append(attempt)
                if attempt["failure"]:
                    failures.append({"id": problem["id"], "where": problem["where"], "round": number,
                                     "kind": attempt["failure"], "detail": attempt["reason"]})
                elif attempt["correct"] is None:
                    undecided.append((problem, attempt))
            checker.decide(undecided, params.lm_check_min_rating, failures, number)
            for problem in pending:
                if attempts[problem["id"]][-1]["correct"]:
                    accepted[problem["id"]] = number
        stats = _statistics(params, problems, accepted, failures, teacher, checker, len(rejected))
        rows = [{**p, "accepted_round": accepted[p["id"]],
                 "solution": attempts[p["id"]][-1]["solution"] if accepted[p["id"]] else None,
                 "attempts": attempts[p["id"]]} for p in sorted(problems, key=lambda p: p["id"])]
        with atomic_path(out_dir) as tmp:
            tmp.mkdir()
            with (tmp / "solutions.jsonl").open("w", encoding="utf-8") as handle:
                handle.writelines(dumps(row) + "\n" for row in rows)
            with (tmp / "failures.jsonl").open("w", encoding="utf-8") as handle:
                handle.writelines(dumps(row) + "\n" for row in failures)
            write_json(tmp / "stats.json", {k: v for k, v in stats.items() if k != RUN})
        mlflow.log_metrics(numeric_metrics(stats, skip=("teacher_settings",)))
    for failure in failures[:10]:
        print(f"warning: {failure['where']}: problem {failure['id']!r} round {failure['round']}: "
              f"{failure['kind']}: {failure['detail']}", file=sys.stderr)
    if failures:
        print(f"warning: {len(failures)} failures in all {stats['failures']}: {Path(out_dir) / 'failures.jsonl'}",
              file=sys.stderr)
    return stats


def _judge_by_rules(number: int, kind: str, problem: dict, prompt: str, reply: str, rel_tol: float) -> dict:
    solution = solution_from_reply(kind, reply)
    attempt = {"round": number, "kind": kind, "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest()[:16],
               "solution": solution, "answer": None, "correct": False, "checked_by": None, "failure": None}
    if not solution.strip():
        return {**attempt, "failure": "empty_output", "reason": "the teacher returned no text"}
    answer = extract_final_answer(solution)
    if answer is None:
        return {**attempt, "failure": "no_final_answer", "reason": f"no final answer in {solution[-80:]!r}"}
    verdict = check_answer(answer, problem, rel_tol)
    return {**attempt, "answer": answer, "correct": verdict.correct, "checked_by": "rules", "reason": verdict.reason}


RUN = "this_run"


class _LMChecker:
    """The LM checker for what the rules cannot decide; the judge is built only when first needed."""

    def __init__(self, spec: JudgeParams):
        self.spec = spec
        self.judge: Any = None
        self.asked = 0

    def decide(self, undecided: list[tuple[dict, dict]], min_rating: int, failures: list[dict], number: int) -> None:
        if not undecided:
            return
        if self.spec.backend == "none":
            for _problem, attempt in undecided:
                attempt.update(correct=False, checked_by="none", reason=attempt["reason"] + "; no LM checker")
            return
        if self.judge is None:
            from sciriff.evaluation.judge import make_judge

            self.judge = make_judge(self.spec)
        prompts = [lm_check_prompt(p, a["answer"], a["solution"]) for p, a in undecided]
        self.asked += len(prompts)
        replies = self.judge.complete(prompts)
        fail_on_errors("score.judge (LM checker)", self.judge, [p for p, _ in undecided], prompts)
        for (problem, attempt), reply in zip(undecided, replies, strict=True):
            rating = parse_rating(reply)
            attempt.update(checked_by="lm", lm_rating=rating)
            if rating is None:
                attempt.update(correct=False, failure="lm_check_unparsed", reason=f"no rating in {reply[-80:]!r}")
                failures.append({"id": problem["id"], "where": problem["where"], "round": number,
                                 "kind": "lm_check_unparsed", "detail": attempt["reason"]})
            else:
                attempt["correct"] = rating >= min_rating
                attempt["reason"] += f"; LM rating {rating} (correct from {min_rating})"


def _statistics(params: AnnotateParams, problems: list[dict], accepted: dict[str, int | None],
                failures: list[dict], teacher: Any, checker: _LMChecker, rejected: int) -> dict[str, Any]:
    rounds = Counter(r for r in accepted.values() if r is not None)
    teacher_stats = teacher.stats.as_dict()
    judge_stats = checker.judge.stats.as_dict() if checker.judge is not None else {}
    return {
        "problems": len(problems),
        "rejected_inputs": rejected,
        "accepted": sum(rounds.values()),
        "accepted_by_round": {kind: rounds.get(n, 0) for n, kind in enumerate(ROUNDS[: params.max_rounds], 1)},
        "not_accepted": len(problems) - sum(rounds.values()),
        "teacher": {"prompts": teacher_stats["hits"] + teacher_stats["misses"]},
        "lm_checker": {"prompts": checker.asked},
        "failures": dict(sorted(Counter(f["kind"] for f in failures).items())),
        "teacher_settings": describe(teacher),
        RUN: {  # this run only (depends on the cache): returned, printed and logged, never in the data
            "teacher": {"calls": teacher_stats["misses"], "cache_hits": teacher_stats["hits"],
                        "requests": teacher_stats["calls"], "failures": teacher_stats["failures"]},
            "lm_checker": {"calls": judge_stats.get("misses", 0), "cache_hits": judge_stats.get("hits", 0)},
        },
    }
