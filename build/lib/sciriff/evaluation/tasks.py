"""The nine SciRIFF-Eval tasks, scored as the official `compute_science_metrics.py` scores them.

`score_task` runs the shared pipeline (eval spec §2: `</s>` clean-up, corpus BLEU, JSON parsing
into the `all` and `valid_json` settings) and then the task's evaluator (§3). Flat metric names,
summary keys, defaults and quirks follow the official code, so in `compat="official"` mode the
numbers equal its `metrics_flat.json` / `metrics_summary.json` to float precision.

Where the official code aborts the whole task (NER non-object output, a `""` evidence_inference
output, non-string SciFact evidence, numeric Qasper answers, an empty ROUGE set, all-empty BLEU
input, no usable MUP rating) this module scores what can be scored instead, adds a warning, records
the reason in the instance's details and counts it in the flat metric `official_errors` (present
only when non-zero, so that the flat keys equal the official ones whenever the official code runs).
`compat="corrected"` additionally fixes the documented bugs listed in `COMPAT_DIFFERENCES`.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sciriff.evaluation.metrics import (
    ROUGE_TYPES,
    bootstrap_rouge,
    corpus_bleu,
    corpus_rouge,
    prf,
    rouge_scores,
    safe_div,
    squad_tokens,
    token_f1,
)
from sciriff.evaluation.parsing import (
    EXTRACT_FAILURE,
    EXTRACT_SUCCESS,
    VALID_JSON,
    Compat,
    clean_prediction,
    flatten,
    normalize_entry,
    parse_json,
)
from sciriff.io import DataError

if TYPE_CHECKING:
    from sciriff.evaluation.official_prompts import OfficialPrompts

COMPAT_DIFFERENCES: tuple[tuple[str, str], ...] = (
    ("eos_strip", "strip only whole `</s>` tokens from the ends of an output, not any run of the "
     "characters `<`, `/`, `s`, `>` (which eats the first/last `s` of plain text)"),
    ("list_scalar_output", "bioasq/multicite: a bare JSON string is one answer and a JSON object is "
     "unparseable, instead of a set of characters / a set of keys"),
    ("string_as_one_item", "a string where a list is expected (NER mentions, SciFact and Qasper "
     "evidence) is one item, not its characters; an object or number there is no items"),
    ("ei_null_items", "evidence_inference fuzzy matching: an empty/null predicted item matches an "
     "empty/null gold item (e.g. no comparator), and a non-empty item no longer matches an empty one"),
    ("scifact_non_object", "scifact: an output that is not a JSON object counts as NEI with no "
     "evidence instead of vanishing from the corpus (which hid it from recall)"),
    ("mup_rating_1", "MUP judge ratings of 1 are kept (score 0); the official sync code drops them "
     "as falsy, averaging ratings 2-5 only"),
    ("judge_prompt_spaces", "judge prompts keep runs of spaces inside the inserted paper text and "
     "answers; the official prompts delete every run of 4 (Qasper) / 8 (MUP) spaces"),
)

NER_TYPES = {
    "biored_ner": ("CellLine", "Chemical", "Disease", "Gene", "Species", "Variant"),
    "scierc_ner": ("Task", "Method", "Metric", "Material", "OtherScientificTerm", "Generic"),
}
EI_TUPLE_LENGTH = 5
EI_OVERLAP_THRESHOLD = 0.3
MUP_JUDGE_SAMPLE = 100
MUP_JUDGE_SEED = 42
SETTINGS = ("valid_json", "all")  # the official code evaluates valid_json first


class Judge(Protocol):
    """An LM judge client (the real one lives in sciriff.evaluation.judge)."""

    name: str  # the judge model's name, reported with the scores

    def complete(self, prompts: Sequence[str]) -> list[str | None]:
        """Raw reply per prompt, in order; None where the call failed."""
        ...


@dataclass
class TaskScore:
    """Scores of one task: flat metrics (official names, 0-1), summary keys, per-instance details."""

    flat: dict[str, float]
    summary: dict[str, float | None]
    details: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    judge: str | None = None


@dataclass
class _Run:
    """What one scoring call shares between the pipeline and the task evaluator."""

    task: str
    compat: Compat
    judge: Judge | None
    details: list[dict]
    warnings: list[str] = field(default_factory=list)
    errors: dict[str, list[int | None]] = field(default_factory=dict)
    judge_used: str | None = None
    prompts: OfficialPrompts | None = None  # None: the project's judge prompts

    @property
    def corrected(self) -> bool:
        return self.compat == "corrected"

    def official_error(self, index: int | None, reason: str) -> None:
        """Record a condition that makes the official scorer abort the task (scored anyway here)."""
        self.errors.setdefault(reason, []).append(index)
        if index is not None:
            self.details[index].setdefault("official_errors", []).append(reason)


Settings = dict[str, list[int]]  # setting name -> instance indices ({} for the free-text tasks)
Result = tuple[dict, dict]  # (flat metrics, summary)
Scorer = Callable[[_Run, list[Any], list[Any], list[str], Settings], Result]


@dataclass(frozen=True)
class Evaluator:
    """One task: its JSON default (None = free text, not parsed), summary keys and scoring function."""

    task: str
    default: Any
    summary_keys: tuple[str, ...]
    score: Scorer


def _flat_prf(flat: dict[str, float], prefix: str, counts: tuple[int, int, int]) -> float:
    scores = prf(*counts)
    for key in ("p", "r", "f1"):
        flat[f"{prefix}_{key}"] = scores[key]
    return scores["f1"]


def _sums(rows: list[tuple], indices: list[int], width: int) -> list[int]:
    return [sum(rows[i][k] for i in indices) for k in range(width)]


def _mean(values: list[float]) -> float:
    """np.mean (pairwise summation, as the official code), NaN for no values without a warning."""
    return float(np.mean(values)) if values else math.nan


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


def _score_list(run: _Run, preds: list, refs: list, prompts: list, settings: Settings) -> Result:
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
        correct, n_pred, n_ref, ok = _sums(rows, settings[setting], 4)
        _flat_prf(flat, setting, (correct, n_pred, n_ref))
        flat[f"{setting}_frac_parsed"] = safe_div(ok, 2 * len(settings[setting]))
    return flat, {"f1": flat["all_f1"]}


# --- NER: biored_ner, scierc_ner -----------------------------------------------------------------


def _entity_sets(run: _Run, index: int, value: Any) -> tuple[set, set]:
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


def _score_ner(run: _Run, preds: list, refs: list, prompts: list, settings: Settings) -> Result:
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
        sums = _sums(rows, settings[setting], 6)
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


def _ei_predicted_tuples(run: _Run, index: int, value: Any, counts: dict[str, int]) -> list[tuple]:
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


def _ei_gold_tuples(run: _Run, index: int, value: Any) -> list[tuple]:
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


def _score_ei(run: _Run, preds: list, refs: list, prompts: list, settings: Settings) -> Result:
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
        sums = _sums(rows, settings[setting], 9)
        flat[f"{setting}_frac_valid_list"] = safe_div(sums[1], sum(sums[:4]))
        n_pred, n_gold = sums[4], sums[5]
        for method, hits in zip(("exact", "substring", "overlap"), sums[6:], strict=True):
            f1 = _flat_prf(flat, f"{setting}_{method}", (hits, n_pred, n_gold))
            if setting == "all":
                summary[f"f1_{method}"] = f1
    return flat, summary


# --- scifact_entailment ------------------------------------------------------------------------------


def _evidence_items(run: _Run, index: int, value: Any, task_label: str) -> list[str]:
    """Predicted evidence strings: nested lists flattened; official: a string is its characters."""
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


def _score_scifact(run: _Run, preds: list, refs: list, prompts: list, settings: Settings) -> Result:
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
        items = _evidence_items(run, i, evidence, "scifact") if evidence_given else []
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
        sums = _sums(rows, settings[setting], 13)
        _flat_prf(flat, f"{setting}_label", tuple(sums[0:3]))
        _flat_prf(flat, f"{setting}_evidence_sent", tuple(sums[3:6]))
        _flat_prf(flat, f"{setting}_evidence_tok", tuple(sums[6:9]))
        flat[f"{setting}_correct_verdict_frac_parsed"] = safe_div(sums[9], sums[9] + sums[10])
        flat[f"{setting}_correct_evidence_frac_parsed"] = safe_div(sums[11], sums[11] + sums[12])
    summary = {"f1_label": flat["all_label_f1"], "f1_evidence_sent": flat["all_evidence_sent_f1"],
               "f1_evidence_token": flat["all_evidence_tok_f1"]}
    return flat, summary


# --- qasper_abstractive_qa ---------------------------------------------------------------------------


def _answer_text(run: _Run, index: int, answer: Any) -> str:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, list):
        return " ".join(str(x) for x in flatten(answer))
    if isinstance(answer, dict):
        return str(answer)
    run.official_error(index, "qasper answer is a number or boolean (scored as its str())")
    return str(answer)


def _score_qasper(run: _Run, preds: list, refs: list, prompts: list, settings: Settings) -> Result:
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
            items = _evidence_items(run, i, evidence, "qasper")
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
        idx = settings[setting]
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


def _qasper_judge(run: _Run, preds: list, refs: list, prompts: list[str], rows: list[tuple]) -> float | None:
    """Official sync mode: instances without an answer get rating 1 uncalled; the rest are judged."""
    judge = run.judge
    assert judge is not None
    ratings: list[int | None] = [1] * len(rows)
    to_judge = [i for i, row in enumerate(rows) if row[0] is not None]
    judge_prompts = [qasper_judge_prompt(run, i, prompts[i], refs[i], rows[i][0], preds[i]) for i in to_judge]
    replies = _complete(judge, judge_prompts)
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


def _score_mup(run: _Run, preds: list, refs: list, prompts: list, settings: Settings) -> Result:
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
    replies = _complete(run.judge, [mup_judge_prompt(run, prompts[i], refs[i], preds[i]) for i in sample])
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


def _score_bleu_only(run: _Run, preds: list, refs: list, prompts: list, settings: Settings) -> Result:
    """discomat_te has no task class upstream: corpus BLEU of the raw text is all there is."""
    return {}, {}


# --- LM judge prompts and replies --------------------------------------------------------------------

_QASPER_TEMPLATE = """\
You will read excerpts from a research paper and a question about it, then an answer written by an \
expert (the reference) and an answer produced by a model. Rate, on a scale from 1 to 5, how well the \
model answer agrees with the reference answer. Extra information in the model answer that the \
reference does not contain should not lower the rating.

- 5: the model answer contains every important piece of information in the reference.
- 3: the model answer resembles the reference but is not entirely correct.
- 1: the model answer is wrong or has nothing to do with the reference.

Explain your rating first, then give it, in exactly this format:
Explanation: <your explanation>
Rating: <one integer from 1 to 5>

Write nothing after the rating.

Paper title: {title}

Excerpts:
{excerpts}

Question: {question}

Reference answer: {reference}

Model answer: {answer}
"""

_MUP_TEMPLATE = """\
You will read the title and body of a computer science research paper, then a summary of it written \
by an expert (the reference) and a summary produced by a model. Rate, on an overall scale from 1 to \
5, how similar the model summary is to the reference summary. Extra information in the model summary \
that the reference does not contain should not lower the rating.

- 5: the model summary contains every important piece of information in the reference.
- 3: the model summary resembles the reference but is not entirely accurate.
- 1: the model summary is wrong or has nothing to do with the reference.

Explain your rating first, then give it, in exactly this format:
Explanation: <your explanation>
Decision: <one integer from 1 to 5>

Write nothing after the decision.

Title: {title}

Body text:
{body}

Reference summary:
{reference}

Model summary:
{summary}
"""

_DASHES = "-" * 40
_QASPER_RATING = re.compile(r"Rating:\s*(\d+)")
_MUP_TITLE = re.compile(r"Paper title:\n(.*?)(?=\n)")


def qasper_judge_prompt(run: _Run, index: int, model_prompt: str, gold: dict, answer: Any, pred: Any = None) -> str:
    """Judge prompt for one Qasper answer: title, question, gold evidence, gold and model answers.

    Title = the line after the first line of 40 dashes in the model prompt; question = the one line
    starting with `Question:`. Official mode also deletes every run of 4 spaces in the whole prompt.
    With official prompts (run.prompts), the same fields fill the official code's prompt instead.
    """
    lines = model_prompt.split("\n")
    if _DASHES in lines[:-1]:
        title = lines[lines.index(_DASHES) + 1]
    else:
        run.official_error(index, "qasper prompt has no title after a 40-dash line (judged without title)")
        title = "None"
    questions = [line for line in lines if line.startswith("Question:")]
    if len(questions) != 1:
        run.official_error(index, "qasper prompt does not have exactly one `Question:` line")
    question = questions[0].replace("Question: ", "") if questions else ""
    if run.prompts is not None:
        pred = pred if isinstance(pred, dict) else {"answer": answer}
        return run.prompts.qasper_prompt(model_prompt, gold, pred, title, question, run.corrected)
    prompt = _QASPER_TEMPLATE.format(title=title, excerpts="\n".join(gold["evidence"]), question=question,
                                     reference=gold["answer"], answer=str(answer))
    return prompt if run.corrected else prompt.replace("    ", "")


def parse_qasper_rating(reply: str) -> int:
    """First `Rating:` followed by digits; a value outside 1-5 or no match counts as 3 (official)."""
    match = _QASPER_RATING.search(reply)
    if match is None:
        return 3
    rating = int(match.group(1))
    return rating if rating in (1, 2, 3, 4, 5) else 3


def mup_judge_prompt(run: _Run, model_prompt: str, reference: str, summary: str) -> str:
    """Judge prompt for one MUP summary: paper title and body taken from the model prompt, both summaries."""
    match = _MUP_TITLE.search(model_prompt)
    title = match.group(1) if match else None
    body = None
    if "Paper body:" in model_prompt:
        body = model_prompt[model_prompt.find("Paper body:") + 11 :]
        if "sentence paper summary" in body:
            body = body[: body.find("sentence paper summary") - 2]
        body = body.strip()
    if run.prompts is not None:
        return run.prompts.mup_prompt(model_prompt, title, body, reference, summary, run.corrected)
    prompt = _MUP_TEMPLATE.format(title=title, body=body, reference=reference, summary=summary)
    return prompt if run.corrected else prompt.replace("        ", "")


def parse_mup_rating(reply: str) -> int | None:
    """Text after the first `Decision:` (else `Rating:`), stripped, must be exactly 1-5; else None."""
    for marker in ("Decision:", "Rating:"):
        if marker in reply:
            decision = reply[reply.find(marker) + len(marker) :].strip()
            return int(decision) if decision in ("1", "2", "3", "4", "5") else None
    return None


def _complete(judge: Judge, prompts: list[str]) -> list[str | None]:
    if not prompts:
        return []
    replies = list(judge.complete(prompts))
    if len(replies) != len(prompts):
        raise ValueError(f"judge {judge.name!r} returned {len(replies)} replies for {len(prompts)} prompts")
    return replies


# --- registry and entry point ------------------------------------------------------------------------

EVALUATORS: dict[str, Evaluator] = {
    e.task: e
    for e in (
        Evaluator("bioasq_list_qa", [], ("f1",), _score_list),
        Evaluator("biored_ner", dict.fromkeys(NER_TYPES["biored_ner"], []), ("f1",), _score_ner),
        Evaluator("discomat_te", None, ("bleu",), _score_bleu_only),
        Evaluator("evidence_inference", [], ("f1_exact", "f1_substring", "f1_overlap"), _score_ei),
        Evaluator("multicite_intent_classification", [], ("f1",), _score_list),
        Evaluator("mup_single_document_summarization", None, ("lm_judge_reference", "rouge"), _score_mup),
        Evaluator("qasper_abstractive_qa", {"answer": None, "evidence": None},
                  ("lm_judge_answer", "f1_answer", "f1_evidence"), _score_qasper),
        Evaluator("scierc_ner", dict.fromkeys(NER_TYPES["scierc_ner"], []), ("f1",), _score_ner),
        Evaluator("scifact_entailment", {"verdict": "NEI", "evidence": []},
                  ("f1_label", "f1_evidence_sent", "f1_evidence_token"), _score_scifact),
    )
}


def score_task(
    task: str,
    predictions: list[str],
    references: list[str],
    prompts: list[str],
    *,
    compat: Compat = "official",
    judge: Judge | None = None,
    judge_prompts: OfficialPrompts | None = None,
) -> TaskScore:
    """Score one task's predictions against its gold outputs, as the official SciRIFF scorer does.

    `prompts` (the model inputs) are used only by the LM judges; pass [] when there are none.
    Predictions are raw model outputs; references are the gold output strings (bare JSON for the
    JSON tasks, else DataError). Without a judge, the judge summary values are None.
    `judge_prompts`: the official judge prompts (sciriff.evaluation.official_prompts); None: the project's.
    """
    if task not in EVALUATORS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(EVALUATORS)}")
    if compat not in ("official", "corrected"):
        raise ValueError(f"compat must be 'official' or 'corrected', not {compat!r}")
    n = len(predictions)
    prompts = list(prompts) if prompts else [""] * n
    if len(references) != n or len(prompts) != n:
        raise ValueError(f"{task}: {n} predictions, {len(references)} references, {len(prompts)} prompts")
    evaluator = EVALUATORS[task]
    run = _Run(task=task, compat=compat, judge=judge, details=[{"index": i} for i in range(n)],
               prompts=judge_prompts)
    cleaned = [clean_prediction(p, compat) for p in predictions]

    n_ok: int | None = None  # outputs that parsed as JSON (JSON tasks only)
    if evaluator.default is None:
        flat, summary = evaluator.score(run, cleaned, list(references), prompts, {})
    else:
        fix = task == "evidence_inference"
        gold = [parse_json(r, evaluator.default, fix_closing_brace=fix) for r in references]
        bad = [i for i, g in enumerate(gold) if g.status != VALID_JSON]
        if bad:
            raise DataError(f"{task}: references must be bare JSON; instance(s) {bad[:10]} are not")
        parsed = [parse_json(p, evaluator.default, fix_closing_brace=fix) for p in cleaned]
        for detail, p in zip(run.details, parsed, strict=True):
            detail["status"] = p.status
        settings = {"valid_json": [i for i, p in enumerate(parsed) if p.status != EXTRACT_FAILURE],
                    "all": list(range(n))}
        values = [p.value for p in parsed]
        flat, summary = evaluator.score(run, values, [g.value for g in gold], prompts, settings)
        n_ok = sum(p.status in (VALID_JSON, EXTRACT_SUCCESS) for p in parsed)

    bleu = corpus_bleu(cleaned, references)
    if bleu is None:
        run.official_error(None, "BLEU undefined: every prediction (or reference) is empty (reported as 0)")
        bleu = 0.0
    flat["bleu"] = bleu
    if n_ok is not None:
        flat["json_parsed"] = safe_div(n_ok, n)
    if task == "discomat_te":
        summary = {"bleu": bleu}

    if run.errors:
        flat["official_errors"] = sum(len(v) for v in run.errors.values())
        for reason, where in run.errors.items():
            indices = [i for i in where if i is not None]
            at = f" (instances {indices[:8]}{'...' if len(indices) > 8 else ''})" if indices else ""
            run.warnings.append(f"{task}: official scorer would abort: {reason}; {len(where)} case(s){at}")
    return TaskScore(flat=flat, summary=summary, details=run.details, warnings=run.warnings,
                     judge=run.judge_used)
