"""Scorers of the two SciRIFF-Eval tasks with an LM judge: Qasper answers and MUP summaries.

Each computes its automatic metrics, then asks the judge (when one is given) through the prompts in
`judge_prompts`; failed calls (and, for MUP, unparsable replies) are left out and reported as warnings.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from sciriff.evaluation.context import SETTINGS, Result, ScoringRun, SettingIndices
from sciriff.evaluation.judge_prompts import (
    judge_replies,
    mup_judge_prompt,
    parse_mup_rating,
    parse_qasper_rating,
    qasper_judge_prompt,
)
from sciriff.evaluation.metrics import ROUGE_TYPES, bootstrap_rouge, corpus_rouge, rouge_scores, safe_div, token_f1
from sciriff.evaluation.parsing import flatten
from sciriff.evaluation.scorers import evidence_items

MUP_JUDGE_SAMPLE = 100
MUP_JUDGE_SEED = 42


def _mean(values: list[float]) -> float:
    """np.mean (pairwise summation, as the official code), NaN for no values without a warning."""
    return float(np.mean(values)) if values else math.nan


# --- qasper_abstractive_qa ---------------------------------------------------------------------------


def _answer_text(run: ScoringRun, index: int, answer: Any) -> str:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, list):
        return " ".join(str(x) for x in flatten(answer))
    if isinstance(answer, dict):
        return str(answer)
    run.official_error(index, "qasper answer is a number or boolean (scored as its str())")
    return str(answer)


def score_qasper(run: ScoringRun, preds: list, refs: list, prompts: list, indices: SettingIndices) -> Result:
    """Answer / evidence token F1 (macro over instances), answer ROUGE and the LM-judge answer rating."""
    rows = []  # (answer or None, answer text, is_str, f1_answer, evidence given, f1_evidence)
    for i, (pred, ref) in enumerate(zip(preds, refs, strict=True)):
        answer = pred.get("answer") if isinstance(pred, dict) else None
        evidence = pred.get("evidence") if isinstance(pred, dict) else None
        if answer is None:
            text, f1_answer = "", 0.0
        else:
            text = _answer_text(run, i, answer)
            f1_answer = token_f1(text, ref["answer"])
        if evidence is None:
            f1_evidence = 0.0
        else:
            items = evidence_items(run, i, evidence, "qasper")
            f1_evidence = token_f1(" ".join(items), " ".join(ref["evidence"]))
        rows.append((answer, text, isinstance(answer, str), f1_answer, evidence is not None, f1_evidence))
        run.details[i].update(f1_answer=f1_answer if answer is not None else None,
                              f1_evidence=f1_evidence if evidence is not None else None)

    answered_all = [i for i, row in enumerate(rows) if row[0] is not None]
    rouge_rows = {i: rouge_scores(refs[i]["answer"], rows[i][1]) for i in answered_all}
    lm_judge = _qasper_judge(run, preds, refs, prompts, rows) if run.judge is not None else None
    if run.judge is None:
        run.warnings.append(f"{run.task}: no judge given, lm_judge_answer not computed")

    flat: dict[str, float] = {}
    for setting in SETTINGS:
        idx = indices[setting]
        answered = [i for i in idx if rows[i][0] is not None]
        with_evidence = [i for i in idx if rows[i][4]]
        n_str = sum(rows[i][2] for i in answered)
        flat[f"{setting}_answer_frac_parsed"] = safe_div(len(answered), len(idx))
        flat[f"{setting}_evidence_frac_parsed"] = safe_div(len(with_evidence), len(idx))
        flat[f"{setting}_answer_entry_is_str_frac_parsed"] = safe_div(n_str, len(answered))
        flat[f"{setting}_f1_answer_parsed"] = _mean([rows[i][3] for i in answered])
        flat[f"{setting}_f1_answer_all"] = _mean([rows[i][3] for i in idx])
        flat[f"{setting}_f1_evidence_parsed"] = _mean([rows[i][5] for i in with_evidence])
        flat[f"{setting}_f1_evidence_all"] = _mean([rows[i][5] for i in idx])
        if setting == "all" and lm_judge is not None:
            flat["all_lm_judge"] = lm_judge
        zeros = ((0.0, 0.0, 0.0),) * 4
        for subset, members in (("parsed", answered), ("all", idx)):
            if not members:
                what = "answers" if subset == "parsed" else "instances"
                run.official_error(None, f"qasper {setting} setting has no {what} for ROUGE (NaN)")
                rouge = dict.fromkeys(ROUGE_TYPES, math.nan)
            else:
                rouge = bootstrap_rouge(np.array([rouge_rows.get(i, zeros) for i in members]))
            for key, value in rouge.items():
                flat[f"{setting}_{key}_{subset}"] = value
    summary = {"lm_judge_answer": lm_judge, "f1_answer": flat["all_f1_answer_all"],
               "f1_evidence": flat["all_f1_evidence_all"]}
    return flat, summary


def _qasper_judge(run: ScoringRun, preds: list, refs: list, prompts: list[str], rows: list[tuple]) -> float | None:
    """Official sync mode: instances without an answer get rating 1 uncalled; the rest are judged."""
    judge = run.judge
    assert judge is not None
    ratings: list[int | None] = [1] * len(rows)
    to_judge = [i for i, row in enumerate(rows) if row[0] is not None]
    judge_prompts = [qasper_judge_prompt(run, i, prompts[i], refs[i], rows[i][0], preds[i]) for i in to_judge]
    replies = judge_replies(judge, judge_prompts)
    for i, reply in zip(to_judge, replies, strict=True):
        ratings[i] = None if reply is None else parse_qasper_rating(reply)
    failed = [i for i in to_judge if ratings[i] is None]
    if failed:
        run.warnings.append(f"{run.task}: {len(failed)} judge call(s) failed; left out of lm_judge_answer")
    for i, rating in enumerate(ratings):
        run.details[i]["judge_rating"] = rating
    run.judge_used = judge.name
    valid = [r for r in ratings if r is not None]
    return float((np.mean(valid) - 1) / 4) if valid else None


# --- mup_single_document_summarization ---------------------------------------------------------------


def score_mup(run: ScoringRun, preds: list, refs: list, prompts: list, indices: SettingIndices) -> Result:
    """ROUGE of the summaries, plus the LM-judge rating against the gold summary on a 100-instance sample."""
    flat: dict[str, float] = {}
    rouge = corpus_rouge(preds, refs)
    if rouge is None:
        run.official_error(None, "MUP has no instances for ROUGE (reported as NaN)")
        rouge = dict.fromkeys(ROUGE_TYPES, math.nan)
    flat.update(rouge)
    summary: dict[str, float | None] = {"lm_judge_reference": None, "rouge": rouge["rougeL"]}
    if run.judge is None:
        run.warnings.append(f"{run.task}: no judge given, lm_judge_reference not computed")
        return flat, summary
    # = random.seed(42); random.sample(range(N), min(100, N)), judged in index order
    n_sample = min(MUP_JUDGE_SAMPLE, len(preds))
    sample = sorted(random.Random(MUP_JUDGE_SEED).sample(range(len(preds)), n_sample))
    replies = judge_replies(run.judge, [mup_judge_prompt(run, prompts[i], refs[i], preds[i]) for i in sample])
    kept = []
    for i, reply in zip(sample, replies, strict=True):
        rating = None if reply is None else parse_mup_rating(reply)
        run.details[i]["judge_rating"] = rating
        if rating is not None and (rating > 1 or run.corrected):
            kept.append((rating - 1) / 4)
    run.judge_used = run.judge.name
    flat["lm_judge_reference_comparison_n_samples"] = len(kept)
    if kept:
        flat["lm_judge_reference_comparison_avg_rating"] = sum(kept) / len(kept)
        summary["lm_judge_reference"] = flat["lm_judge_reference_comparison_avg_rating"]
    else:
        run.official_error(None, "MUP judge gave no usable rating above 1 (lm_judge_reference is None)")
        flat["lm_judge_reference_comparison_avg_rating"] = math.nan
    dropped = len(sample) - len(kept)
    if dropped:
        why = "failed call or unparsable reply" + ("" if run.corrected else " or rating 1")
        run.warnings.append(f"{run.task}: {dropped} of {len(sample)} judged summaries left out ({why})")
    return flat, summary

