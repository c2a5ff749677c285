"""Scorers of the seven SciRIFF-Eval tasks without an LM judge, as the official code scores them.

List, NER, evidence_inference and SciFact are set or tuple F1 over the parsed JSON; discomat_te is
BLEU only (computed by `score_task` for every task). The judged tasks are in `judged_scorers`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sciriff.evaluation.context import SETTINGS, Result, ScoringRun, SettingIndices
from sciriff.evaluation.metrics import prf, safe_div, squad_tokens, token_f1
from sciriff.evaluation.parsing import flatten, normalize_entry

EI_TUPLE_LENGTH = 5
EI_OVERLAP_THRESHOLD = 0.3


def _flat_prf(flat: dict[str, float], prefix: str, counts: tuple[int, int, int]) -> float:
    scores = prf(*counts)
    for key in ("p", "r", "f1"):
        flat[f"{prefix}_{key}"] = scores[key]
    return scores["f1"]


def _sums(rows: list[tuple], indices: list[int], width: int) -> list[int]:
    return [sum(rows[i][k] for i in indices) for k in range(width)]


# --- list tasks: bioasq_list_qa, multicite_intent_classification --------------------------------


def _list_entries(value: Any, corrected: bool) -> list[str] | None:
    """Normalised entries of a predicted/gold list; None when unusable (official: TypeError)."""
    if corrected and isinstance(value, str):
        value = [value]
    elif corrected and isinstance(value, dict):
        return None
    try:
        return [normalize_entry(x) for x in value]
    except TypeError:
        return None


def score_list(run: ScoringRun, preds: list, refs: list, prompts: list, indices: SettingIndices) -> Result:
    """Exact-match set F1 per instance, micro-summed; an unusable list becomes `[""]`."""
    rows = []
    for i, (pred, ref) in enumerate(zip(preds, refs, strict=True)):
        pred_entries = _list_entries(pred, run.corrected)
        ref_entries = _list_entries(ref, run.corrected)
        pred_set = set(pred_entries if pred_entries is not None else [""])
        ref_set = set(ref_entries if ref_entries is not None else [""])
        correct = len(pred_set & ref_set)
        ok = (pred_entries is not None) + (ref_entries is not None)
        rows.append((correct, len(pred_set), len(ref_set), ok))
        run.details[i].update(correct=correct, predicted=len(pred_set), gold=len(ref_set),
                              list_parsed=pred_entries is not None)
    flat: dict[str, float] = {}
    for setting in SETTINGS:
        correct, n_pred, n_ref, ok = _sums(rows, indices[setting], 4)
        _flat_prf(flat, setting, (correct, n_pred, n_ref))
        flat[f"{setting}_frac_parsed"] = safe_div(ok, 2 * len(indices[setting]))
    return flat, {"f1": flat["all_f1"]}


# --- NER: biored_ner, scierc_ner -----------------------------------------------------------------


def _entity_sets(run: ScoringRun, index: int, value: Any) -> tuple[set, set]:
    """{(mention, type)} and {mention} of one NER output (type keys verbatim, case-sensitive)."""
    typed: set[tuple[str, str]] = set()
    untyped: set[str] = set()
    if not isinstance(value, dict):
        run.official_error(index, "NER output is not a JSON object (scored as no entities)")
        return typed, untyped
    for entity_type, mentions in value.items():
        if run.corrected and isinstance(mentions, str):
            mentions = [mentions]
        elif run.corrected and isinstance(mentions, dict):
            mentions = []
        try:
            items = flatten(mentions)
        except TypeError:
            run.official_error(index, "NER mention list is null or a number (scored as no mentions)")
            continue
        for mention in items:
            try:
                normalized = normalize_entry(mention)
            except TypeError:
                run.official_error(index, "NER mention is a JSON object (mention skipped)")
                continue
            typed.add((normalized, entity_type))
            untyped.add(normalized)
    return typed, untyped


def score_ner(run: ScoringRun, preds: list, refs: list, prompts: list, indices: SettingIndices) -> Result:
    """Typed and untyped exact-match entity F1, micro."""
    rows = []
    for i, (pred, ref) in enumerate(zip(preds, refs, strict=True)):
        pred_typed, pred_untyped = _entity_sets(run, i, pred)
        ref_typed, ref_untyped = _entity_sets(run, i, ref)
        row = (len(pred_typed & ref_typed), len(pred_typed), len(ref_typed),
               len(pred_untyped & ref_untyped), len(pred_untyped), len(ref_untyped))
        rows.append(row)
        run.details[i].update(correct=row[0], predicted=row[1], gold=row[2])
    flat: dict[str, float] = {}
    for setting in SETTINGS:
        sums = _sums(rows, indices[setting], 6)
        _flat_prf(flat, f"{setting}_typed", tuple(sums[:3]))
        _flat_prf(flat, f"{setting}_untyped", tuple(sums[3:]))
    return flat, {"f1": flat["all_typed_f1"]}


# --- evidence_inference ----------------------------------------------------------------------------

_EI_PARSE_KEYS = ("entry_not_list", "good_list", "bad_list", "wrong_length")


def _ei_entry(entry: Any, counts: dict[str, int]) -> tuple[str, ...] | None:
    if not isinstance(entry, list):
        counts["entry_not_list"] += 1
        return None
    if len(entry) != EI_TUPLE_LENGTH:
        counts["wrong_length"] += 1
        return None
    try:
        normalized = tuple(normalize_entry(x) for x in entry)
    except TypeError:
        counts["bad_list"] += 1
        return None
    counts["good_list"] += 1
    return normalized


def _ei_predicted_tuples(run: ScoringRun, index: int, value: Any, counts: dict[str, int]) -> list[tuple]:
    """Findings of one output: a list of 5-lists, or one flat 5-list; other shapes give none."""
    if value == []:
        return []
    if value == "" or isinstance(value, dict):
        run.official_error(index, "evidence_inference output is an empty string or object (no findings)")
        return []
    if not isinstance(value, list | str):  # numbers and booleans cannot be indexed
        return []
    entries = value if isinstance(value[0], list) else [value]
    return [t for t in (_ei_entry(entry, counts) for entry in entries) if t is not None]


def _ei_gold_tuples(run: ScoringRun, index: int, value: Any) -> list[tuple]:
    gold = []
    for entry in value if isinstance(value, list) else []:
        try:
            normalized = tuple(normalize_entry(x) for x in entry)
        except TypeError:
            normalized = ()
        if len(normalized) != EI_TUPLE_LENGTH:
            run.official_error(index, "gold finding is not a 5-element list (skipped)")
            continue
        gold.append(normalized)
    return gold


def _item_match(pred: str, gold: str, test: Callable[[str, str], bool], corrected: bool) -> bool:
    if pred == "":
        return corrected and gold == ""
    if corrected and gold == "":
        return False
    return test(pred, gold)


def _is_substring(pred: str, gold: str) -> bool:
    return pred in gold or gold in pred


def _is_overlap(pred: str, gold: str) -> bool:
    return token_f1(pred, gold) >= EI_OVERLAP_THRESHOLD


def _greedy_matches(preds: list[tuple], golds: list[tuple], test: Callable, corrected: bool) -> int:
    """Greedy matching in prediction order; a used gold tuple blocks its duplicates too (by value)."""
    used: set[tuple] = set()
    hits = 0
    for pred in preds:
        for gold in golds:
            if gold in used:
                continue
            if all(_item_match(p, g, test, corrected) for p, g in zip(pred, gold, strict=True)):
                hits += 1
                used.add(gold)
                break
    return hits


def score_ei(run: ScoringRun, preds: list, refs: list, prompts: list, indices: SettingIndices) -> Result:
    """Exact, substring and token-overlap F1 of (intervention, comparator, outcome, effect, evidence)."""
    rows = []
    for i, (pred, ref) in enumerate(zip(preds, refs, strict=True)):
        counts = dict.fromkeys(_EI_PARSE_KEYS, 0)
        pred_tuples = _ei_predicted_tuples(run, i, pred, counts)
        gold_tuples = _ei_gold_tuples(run, i, ref)
        exact = len(set(pred_tuples) & set(gold_tuples))
        substring = _greedy_matches(pred_tuples, gold_tuples, _is_substring, run.corrected)
        overlap = _greedy_matches(pred_tuples, gold_tuples, _is_overlap, run.corrected)
        rows.append((*(counts[k] for k in _EI_PARSE_KEYS), len(pred_tuples), len(gold_tuples),
                     exact, substring, overlap))
        run.details[i].update(predicted=len(pred_tuples), gold=len(gold_tuples), exact=exact,
                              substring=substring, overlap=overlap)
    flat: dict[str, float] = {}
    summary: dict[str, float | None] = {}
    for setting in SETTINGS:
        sums = _sums(rows, indices[setting], 9)
        flat[f"{setting}_frac_valid_list"] = safe_div(sums[1], sum(sums[:4]))
        n_pred, n_gold = sums[4], sums[5]
        for method, hits in zip(("exact", "substring", "overlap"), sums[6:], strict=True):
            f1 = _flat_prf(flat, f"{setting}_{method}", (hits, n_pred, n_gold))
            if setting == "all":
                summary[f"f1_{method}"] = f1
    return flat, summary


# --- scifact_entailment ------------------------------------------------------------------------------


def evidence_items(run: ScoringRun, index: int, value: Any, task_label: str) -> list[str]:
    """Predicted evidence strings (SciFact and Qasper): nested lists flattened; official: a string is its characters."""
    if isinstance(value, int | float):
        run.official_error(index, f"{task_label} evidence is a number (scored as no evidence)")
        return []
    if run.corrected and isinstance(value, str):
        value = [value]
    elif run.corrected and isinstance(value, dict):
        value = []
    items = flatten(value)
    strings = [item for item in items if isinstance(item, str)]
    if len(strings) != len(items):
        run.official_error(index, f"{task_label} evidence has non-string items (items dropped)")
    return strings


def score_scifact(run: ScoringRun, preds: list, refs: list, prompts: list, indices: SettingIndices) -> Result:
    """Verdict F1 over SUPPORT/CONTRADICT, evidence sentence-set F1 and evidence token F1, all micro."""
    rows = []
    for i, (pred, ref) in enumerate(zip(preds, refs, strict=True)):
        if not isinstance(pred, dict):
            if not run.corrected:  # official: the instance adds nothing, not even to recall
                rows.append((0,) * 13)
                run.details[i].update(skipped=True)
                continue
            pred = {}
        verdict_ref = ref["verdict"]
        verdict = pred.get("verdict")
        verdict_given = verdict is not None
        verdict = verdict if verdict_given else "NEI"
        label = (int(verdict_ref != "NEI" and verdict == verdict_ref), int(verdict != "NEI"),
                 int(verdict_ref != "NEI"))
        evidence = pred.get("evidence")
        evidence_given = evidence is not None
        items = evidence_items(run, i, evidence, "scifact") if evidence_given else []
        ref_sents = {s.strip().lower() for s in ref["evidence"]}
        pred_sents = {s.strip().lower() for s in items}
        ref_tokens = squad_tokens(" ".join(ref["evidence"]))
        pred_tokens = squad_tokens(" ".join(items))
        common = sum((Counter(pred_tokens) & Counter(ref_tokens)).values())
        rows.append((*label, len(pred_sents & ref_sents), len(pred_sents), len(ref_sents),
                     common, len(pred_tokens), len(ref_tokens), int(verdict_given), int(not verdict_given),
                     int(evidence_given), int(not evidence_given)))
        run.details[i].update(label_correct=bool(label[0]), evidence_sentences_correct=rows[-1][3])
    flat: dict[str, float] = {}
    for setting in SETTINGS:
        sums = _sums(rows, indices[setting], 13)
        _flat_prf(flat, f"{setting}_label", tuple(sums[0:3]))
        _flat_prf(flat, f"{setting}_evidence_sent", tuple(sums[3:6]))
        _flat_prf(flat, f"{setting}_evidence_tok", tuple(sums[6:9]))
        flat[f"{setting}_correct_verdict_frac_parsed"] = safe_div(sums[9], sums[9] + sums[10])
        flat[f"{setting}_correct_evidence_frac_parsed"] = safe_div(sums[11], sums[11] + sums[12])
    summary = {"f1_label": flat["all_label_f1"], "f1_evidence_sent": flat["all_evidence_sent_f1"],
               "f1_evidence_token": flat["all_evidence_tok_f1"]}
    return flat, summary


def score_bleu_only(run: ScoringRun, preds: list, refs: list, prompts: list, indices: SettingIndices) -> Result:
    """discomat_te has no task class upstream: corpus BLEU of the raw text is all there is."""
    return {}, {}
