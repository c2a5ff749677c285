"""Per-task scoring: hand-computed cases for every metric and every quirk of the official scorer."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence

import pytest

from sciriff.evaluation import COMPAT_DIFFERENCES, EVALUATORS, TaskScore, score_task
from sciriff.evaluation.judge_prompts import parse_mup_rating, parse_qasper_rating
from sciriff.io import DataError


class FakeJudge:
    """Canned judge replies: a list consumed in order, or a function of the prompt."""

    name = "fake-judge"

    def __init__(self, replies: list[str | None] | Callable[[str], str | None]):
        self.replies = replies
        self.prompts: list[str] = []

    def complete(self, prompts: Sequence[str]) -> list[str | None]:
        start = len(self.prompts)
        self.prompts.extend(prompts)
        if callable(self.replies):
            return [self.replies(p) for p in prompts]
        return list(self.replies[start : start + len(prompts)])


def score(task: str, preds: list, golds: list, **kwargs) -> TaskScore:
    """Score with gold given as Python values (dumped to JSON like the dataset's bare-JSON outputs)."""
    refs = [g if isinstance(g, str) else json.dumps(g) for g in golds]
    preds = [p if isinstance(p, str) else json.dumps(p) for p in preds]
    return score_task(task, preds, refs, kwargs.pop("prompts", []), **kwargs)


def test_registry_and_compat_list() -> None:
    assert len(EVALUATORS) == 9
    names = [name for name, _ in COMPAT_DIFFERENCES]
    assert len(names) == len(set(names)) >= 6
    assert all(isinstance(line, str) and line for _, line in COMPAT_DIFFERENCES)
    with pytest.raises(ValueError, match="unknown task"):
        score_task("not_a_task", [], [], [])
    with pytest.raises(ValueError, match="2 predictions, 1 references"):
        score_task("bioasq_list_qa", ["[]", "[]"], ["[]"], [])


def test_gold_must_be_bare_json() -> None:
    with pytest.raises(DataError, match=r"instance\(s\) \[1\]"):
        score_task("bioasq_list_qa", ["[]", "[]"], ['["a"]', 'Answer: ["a"]'], [])


# --- bioasq / multicite --------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["bioasq_list_qa", "multicite_intent_classification"])
def test_list_exact_reordered_duplicated_case_changed(task: str) -> None:
    result = score(task, [["A", "B"], ["b", "A", "a", " B "]], [["a", "b"], ["A", "B"]])
    assert result.summary == {"f1": 1.0}
    assert result.flat["all_p"] == result.flat["all_r"] == 1.0


def test_list_extra_missing_and_parse_failures() -> None:
    preds = ['["a", "c"]', "no idea", '```json\n["d"]\n```']
    golds = [["a", "b"], ["c"], ["d"]]
    result = score("bioasq_list_qa", preds, golds)
    flat = result.flat
    # all: correct 1+0+1, predicted 2+0+1, gold 2+1+1
    assert (flat["all_p"], flat["all_r"]) == pytest.approx((2 / 3, 2 / 4))
    assert flat["all_f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    # valid_json drops the extract_failure instance only (the fenced one stays)
    assert (flat["valid_json_p"], flat["valid_json_r"]) == pytest.approx((2 / 3, 2 / 3))
    assert flat["json_parsed"] == pytest.approx(2 / 3)
    assert flat["all_frac_parsed"] == 1.0
    assert [d["status"] for d in result.details] == ["valid_json", "extract_failure", "extract_success"]
    assert list(flat) == ["valid_json_p", "valid_json_r", "valid_json_f1", "valid_json_frac_parsed",
                          "all_p", "all_r", "all_f1", "all_frac_parsed", "bleu", "json_parsed"]


def test_list_null_json_counts_as_not_parsed_but_stays_in_valid_json() -> None:
    result = score("bioasq_list_qa", ["null", '["a"]'], [["x"], ["a"]])
    assert result.flat["json_parsed"] == 0.5
    assert result.flat["valid_json_r"] == 0.5  # the null instance (default []) is in valid_json


def test_list_quirks_official_vs_corrected() -> None:
    preds = ['"ab"', '{"ab": 1}', "3", '["ab", null]']
    golds = [["ab"]] * 4
    official = score("bioasq_list_qa", preds, golds)
    # string -> chars {a, b}: 0/2; dict -> keys {ab}: 1/1; number -> [""]: 0/1; [ab, ""]: 1/2
    assert [d["correct"] for d in official.details] == [0, 1, 0, 1]
    assert [d["predicted"] for d in official.details] == [2, 1, 1, 2]
    assert official.flat["all_p"] == pytest.approx(2 / 6)
    assert official.flat["all_frac_parsed"] == pytest.approx(7 / 8)  # the number fails, of 2N
    corrected = score("bioasq_list_qa", preds, golds, compat="corrected")
    # string -> one answer: 1/1; dict -> unparseable [""]: 0/1; number [""]: 0/1; [ab, ""]: 1/2
    assert [d["correct"] for d in corrected.details] == [1, 0, 0, 1]
    assert corrected.flat["all_p"] == pytest.approx(2 / 5)


def test_multicite_wrong_labels() -> None:
    result = score("multicite_intent_classification", [["Background"], ["Uses", "Motivation"]],
                   [["Uses"], ["Uses"]])
    assert result.flat["all_p"] == pytest.approx(1 / 3)
    assert result.flat["all_r"] == pytest.approx(1 / 2)


# --- NER --------------------------------------------------------------------------------------------------


def test_ner_typed_untyped_and_type_case() -> None:
    gold = {"Chemical": ["Aspirin", "ibuprofen"], "Disease": ["pain"]}
    preds = [
        {"Chemical": ["aspirin", " ASPIRIN", "x"], "Disease": ["pain"]},  # duplicates collapse
        {"chemical": ["aspirin"], "disease": ["pain"]},  # wrong-case types: untyped only
    ]
    result = score("biored_ner", preds, [gold, gold])
    flat = result.flat
    # typed: correct 2+0, predicted 3+2, gold 3+3 ; untyped: correct 2+2, predicted 3+2, gold 3+3
    assert (flat["all_typed_p"], flat["all_typed_r"]) == pytest.approx((2 / 5, 2 / 6))
    assert (flat["all_untyped_p"], flat["all_untyped_r"]) == pytest.approx((4 / 5, 4 / 6))
    assert result.summary["f1"] == flat["all_typed_f1"] == pytest.approx(2 * 0.4 * (1 / 3) / (0.4 + 1 / 3))


def test_ner_default_and_exact() -> None:
    gold = {"Task": ["parsing"], "Method": ["LSTM"]}
    result = score("scierc_ner", [gold, "I found no entities."], [gold, {"Task": ["NER"]}])
    assert result.flat["all_typed_p"] == 1.0
    assert result.flat["all_typed_r"] == pytest.approx(2 / 3)
    assert result.flat["valid_json_typed_f1"] == 1.0


def test_ner_string_value_is_characters_officially() -> None:
    preds, golds = [{"Chemical": "ab"}], [{"Chemical": ["ab"]}]
    assert score("biored_ner", preds, golds).details[0]["predicted"] == 2  # {"a", "b"}
    assert score("biored_ner", preds, golds).summary["f1"] == 0.0
    assert score("biored_ner", preds, golds, compat="corrected").summary["f1"] == 1.0


def test_ner_official_crashes_are_scored_and_counted() -> None:
    preds = ['["aspirin"]', {"Chemical": None, "Disease": ["pain"]}, {"Chemical": [{"name": "x"}, "y"]}]
    golds = [{"Chemical": ["aspirin"]}, {"Disease": ["pain"]}, {"Chemical": ["y"]}]
    result = score("biored_ner", preds, golds)
    assert result.flat["official_errors"] == 3
    assert result.flat["all_typed_p"] == 1.0  # pain and y; the bad parts add nothing
    assert result.flat["all_typed_r"] == pytest.approx(2 / 3)
    assert "official_errors" in result.details[0] and len(result.warnings) == 3
    assert "official_errors" not in score("biored_ner", [golds[0]], [golds[0]]).flat


# --- evidence_inference -----------------------------------------------------------------------------------

FINDING = ["aspirin", "placebo", "pain", "significantly decreased", "aspirin reduced pain"]


def test_ei_exact_match_all_methods() -> None:
    result = score("evidence_inference", [[FINDING]], [[FINDING]])
    assert result.summary == {"f1_exact": 1.0, "f1_substring": 1.0, "f1_overlap": 1.0}
    assert result.flat["all_frac_valid_list"] == 1.0


def test_ei_null_comparator_never_matches_fuzzily_officially() -> None:
    finding = ["aspirin", None, "pain", "significantly decreased", "aspirin reduced pain"]
    official = score("evidence_inference", [[finding]], [[finding]])
    assert official.summary == {"f1_exact": 1.0, "f1_substring": 0.0, "f1_overlap": 0.0}
    corrected = score("evidence_inference", [[finding]], [[finding]], compat="corrected")
    assert corrected.summary == {"f1_exact": 1.0, "f1_substring": 1.0, "f1_overlap": 1.0}
    # a non-empty item passes substring against a null gold item ("" is in every string)
    guess = ["aspirin", "placebo", "pain", "significantly decreased", "aspirin reduced pain"]
    assert score("evidence_inference", [[guess]], [[finding]]).summary["f1_substring"] == 1.0
    assert score("evidence_inference", [[guess]], [[finding]], compat="corrected").summary["f1_substring"] == 0.0


def test_ei_effect_direction_barely_checked_by_overlap() -> None:
    flipped = [*FINDING[:3], "significantly increased", FINDING[4]]
    assert score("evidence_inference", [[flipped]], [[FINDING]]).summary == {
        "f1_exact": 0.0, "f1_substring": 0.0, "f1_overlap": 1.0}
    none = [*FINDING[:3], "no significant difference", FINDING[4]]
    assert score("evidence_inference", [[none]], [[FINDING]]).summary["f1_overlap"] == 0.0


def test_ei_truncated_spans() -> None:
    truncated = ["aspirin", "placebo", "pain", "significantly", "aspirin"]
    # substring accepts truncation; overlap: "aspirin" vs "aspirin reduced pain" F1 0.5, "significantly" 2/3
    assert score("evidence_inference", [[truncated]], [[FINDING]]).summary == {
        "f1_exact": 0.0, "f1_substring": 1.0, "f1_overlap": 1.0}


def test_ei_entry_parsing_and_duplicates() -> None:
    pred = [FINDING, FINDING, "x", ["a", "b"], [{"k": 1}, "b", "c", "d", "e"]]
    result = score("evidence_inference", [pred], [[FINDING]])
    # good 2, not-a-list 1, wrong length 1, bad list 1
    assert result.flat["all_frac_valid_list"] == pytest.approx(2 / 5)
    # two identical predictions: both count as predictions, the gold matches once
    assert result.flat["all_exact_p"] == 0.5 and result.flat["all_exact_r"] == 1.0
    assert result.flat["all_overlap_p"] == 0.5


def test_ei_duplicate_gold_matched_once_by_value() -> None:
    result = score("evidence_inference", [[FINDING, FINDING]], [[FINDING, FINDING]])
    assert result.flat["all_exact_p"] == 0.5  # set intersection: one exact match
    assert result.flat["all_substring_p"] == 0.5  # a used gold tuple blocks its duplicate too


def test_ei_flat_list_brace_fix_and_odd_outputs() -> None:
    flat_list = json.dumps(FINDING)
    brace = json.dumps([FINDING])[:-1] + "}"
    result = score("evidence_inference", [flat_list, brace, "5", '""', "[]"], [[FINDING]] * 5)
    assert [d["predicted"] for d in result.details] == [1, 1, 0, 0, 0]
    assert result.details[1]["status"] == "valid_json"
    assert result.flat["official_errors"] == 1  # the empty JSON string aborts the official task
    assert result.flat["all_exact_r"] == pytest.approx(2 / 5)


# --- scifact_entailment ---------------------------------------------------------------------------------

SUPPORT = {"verdict": "SUPPORT", "evidence": ["Aspirin reduces pain."]}
NEI = {"verdict": "NEI", "evidence": []}


def test_scifact_exact_and_nei() -> None:
    result = score("scifact_entailment", [SUPPORT, NEI], [SUPPORT, NEI])
    assert result.summary == {"f1_label": 1.0, "f1_evidence_sent": 1.0, "f1_evidence_token": 1.0}


def test_scifact_label_counts_only_non_nei() -> None:
    preds = [SUPPORT, {"verdict": "support", "evidence": []}, {"verdict": "CONTRADICT", "evidence": []}]
    golds = [SUPPORT, SUPPORT, NEI]
    flat = score("scifact_entailment", preds, golds).flat
    # preds 3 (lowercase "support" is a positive prediction), refs 2, correct 1
    assert (flat["all_label_p"], flat["all_label_r"]) == pytest.approx((1 / 3, 1 / 2))


def test_scifact_missing_keys_and_key_case() -> None:
    result = score("scifact_entailment", [{"Verdict": "SUPPORT"}, {"verdict": None, "evidence": []}],
                   [SUPPORT, SUPPORT])
    assert result.flat["all_label_p"] == 0.0 and result.flat["all_label_r"] == 0.0
    assert result.flat["all_correct_verdict_frac_parsed"] == 0.0
    assert result.flat["all_correct_evidence_frac_parsed"] == 0.5


def test_scifact_evidence_sentence_and_token_f1() -> None:
    pred = {"verdict": "SUPPORT", "evidence": [["ASPIRIN reduces pain. "], "Aspirin reduces"]}
    gold = {"verdict": "SUPPORT", "evidence": ["Aspirin reduces pain.", "It is cheap."]}
    flat = score("scifact_entailment", [pred], [gold]).flat
    assert (flat["all_evidence_sent_p"], flat["all_evidence_sent_r"]) == (0.5, 0.5)
    # tokens: pred [aspirin reduces pain aspirin reduces] gold [aspirin reduces pain it is cheap]
    assert (flat["all_evidence_tok_p"], flat["all_evidence_tok_r"]) == pytest.approx((3 / 5, 3 / 6))


def test_scifact_non_object_prediction_skipped_officially() -> None:
    preds = [SUPPORT, [SUPPORT]]
    official = score("scifact_entailment", preds, [SUPPORT, SUPPORT])
    assert official.summary["f1_label"] == 1.0  # the list output vanished from the corpus
    assert official.details[1]["skipped"] is True
    corrected = score("scifact_entailment", preds, [SUPPORT, SUPPORT], compat="corrected")
    assert corrected.summary["f1_label"] == pytest.approx(2 / 3)


def test_scifact_evidence_string_and_indices() -> None:
    pred = {"verdict": "SUPPORT", "evidence": "Aspirin reduces pain."}
    assert score("scifact_entailment", [pred], [SUPPORT]).summary["f1_evidence_sent"] == 0.0
    assert score("scifact_entailment", [pred], [SUPPORT], compat="corrected").summary["f1_evidence_sent"] == 1.0
    indices = score("scifact_entailment", [{"verdict": "SUPPORT", "evidence": [0, "Aspirin reduces pain."]}],
                    [SUPPORT])
    assert indices.flat["official_errors"] == 1
    assert indices.summary["f1_evidence_sent"] == 1.0  # the index is dropped, the sentence scores


# --- qasper ---------------------------------------------------------------------------------------------

QASPER_GOLD = {"answer": "BERT and ELMo", "evidence": ["We use BERT.", "ELMo too."]}
QASPER_PROMPT = ("Read the paper and answer.\n\n----------------------------------------\n"
                 "Contextual    Embeddings\n----------------------------------------\n\nWe use BERT.\n\n"
                 "Question: Which models are used?")


def test_qasper_exact_and_macro_average() -> None:
    pred = {"answer": ["BERT", "ELMo"], "evidence": ["We use BERT."]}
    result = score("qasper_abstractive_qa", [QASPER_GOLD, pred], [QASPER_GOLD, QASPER_GOLD])
    flat = result.flat
    # answer "BERT ELMo" vs "BERT and ELMo": P 1, R 2/3 -> 0.8 ; evidence [we use bert] vs 5 tokens: 0.75
    assert flat["all_f1_answer_all"] == pytest.approx((1 + 0.8) / 2)
    assert flat["all_f1_evidence_all"] == pytest.approx((1 + 0.75) / 2)
    assert flat["all_answer_entry_is_str_frac_parsed"] == 0.5
    assert result.summary == {"lm_judge_answer": None, "f1_answer": flat["all_f1_answer_all"],
                              "f1_evidence": flat["all_f1_evidence_all"]}
    assert "all_lm_judge" not in flat and any("no judge" in w for w in result.warnings)
    assert 0.8 < flat["all_rouge1_all"] <= 1.0


def test_qasper_missing_fields_and_non_object() -> None:
    preds = [{"answer": "BERT and ELMo"}, ["BERT"], "garbage"]
    result = score("qasper_abstractive_qa", preds, [QASPER_GOLD] * 3)
    flat = result.flat
    assert flat["all_f1_answer_all"] == pytest.approx(1 / 3)
    assert flat["all_f1_answer_parsed"] == 1.0
    assert flat["all_f1_evidence_all"] == 0.0
    assert math.isnan(flat["all_f1_evidence_parsed"])  # mean of nothing, as np.mean gives
    assert flat["all_answer_frac_parsed"] == pytest.approx(1 / 3)
    assert flat["valid_json_answer_frac_parsed"] == 0.5  # "garbage" is an extract failure
    assert flat["all_rouge1_parsed"] == 1.0 and flat["all_rouge1_all"] <= 1.0


def test_qasper_evidence_string_exploded_officially() -> None:
    pred = {"answer": "BERT", "evidence": "We use BERT."}
    assert score("qasper_abstractive_qa", [pred], [QASPER_GOLD]).summary["f1_evidence"] == 0.0
    corrected = score("qasper_abstractive_qa", [pred], [QASPER_GOLD], compat="corrected")
    assert corrected.summary["f1_evidence"] == pytest.approx(0.75)


def test_qasper_numeric_answer_and_empty_rouge_do_not_crash() -> None:
    result = score("qasper_abstractive_qa", [{"answer": 42, "evidence": []}], [QASPER_GOLD])
    assert result.flat["official_errors"] == 1 and result.details[0]["f1_answer"] == 0.0
    nothing = score("qasper_abstractive_qa", ["no json here"], [QASPER_GOLD])
    assert math.isnan(nothing.flat["all_rouge1_parsed"]) and nothing.flat["all_rouge1_all"] == 0.0
    # ROUGE over nothing: valid_json has no instance at all (2 calls), all has no answer (1 call)
    assert nothing.flat["official_errors"] == 3
    assert nothing.summary["f1_answer"] == 0.0


def test_qasper_judge_prompt_ratings_and_scale() -> None:
    judge = FakeJudge(["Explanation: close enough.\nRating: 4"])
    preds = [{"answer": ["BERT", "ELMo"], "evidence": []}, {"answer": None, "evidence": None}]
    result = score("qasper_abstractive_qa", preds, [QASPER_GOLD] * 2, prompts=[QASPER_PROMPT] * 2, judge=judge)
    assert len(judge.prompts) == 1  # no answer: rating 1 without a call
    assert result.flat["all_lm_judge"] == result.summary["lm_judge_answer"] == pytest.approx(((4 + 1) / 2 - 1) / 4)
    assert [d["judge_rating"] for d in result.details] == [4, 1]
    assert result.judge == "fake-judge"
    prompt = judge.prompts[0]
    assert "Paper title: ContextualEmbeddings" in prompt  # official mode deletes runs of 4 spaces
    assert "Question: Which models are used?" in prompt and "We use BERT.\nELMo too." in prompt
    assert "Reference answer: BERT and ELMo" in prompt and "Model answer: ['BERT', 'ELMo']" in prompt
    assert "Rating:" in prompt and "1 to 5" in prompt
    corrected = FakeJudge(["Rating: 5"])
    score("qasper_abstractive_qa", preds[:1], [QASPER_GOLD], prompts=[QASPER_PROMPT], judge=corrected,
          compat="corrected")
    assert "Paper title: Contextual    Embeddings" in corrected.prompts[0]


@pytest.mark.parametrize(
    ("reply", "rating"),
    [("Explanation: fine\nRating: 5", 5), ("Rating:2", 2), ("Rating: 7", 3), ("I like it.", 3),
     ("Rating: 4\nRating: 1", 4), ("Rating: 02", 2), ("Explanation: x\nRating: five", 3)],
)
def test_parse_qasper_rating(reply: str, rating: int) -> None:
    assert parse_qasper_rating(reply) == rating


def test_qasper_failed_judge_call_left_out() -> None:
    judge = FakeJudge([None, "Rating: 5"])
    preds = [{"answer": "x", "evidence": []}, {"answer": "BERT and ELMo", "evidence": []}]
    result = score("qasper_abstractive_qa", preds, [QASPER_GOLD] * 2, prompts=[QASPER_PROMPT] * 2, judge=judge)
    assert result.summary["lm_judge_answer"] == 1.0
    assert any("failed" in w for w in result.warnings)


# --- MUP ---------------------------------------------------------------------------------------------------

MUP_PROMPT = ("Summarize the paper.\n\nPaper title:\nDeep Nets\n\nPaper body:\nWe train deep nets.\n\n"
              "Your 2 sentence paper summary:")


@pytest.mark.parametrize(
    ("reply", "rating"),
    [("Explanation: good\nDecision: 5", 5), ("Decision: 1", 1), ("Explanation: ok\nRating: 3", 3),
     ("Decision: 4.", None), ("Decision: 4\nRating: 2", None), ("Decision: five", None),
     ("Explanation: only words", None), ("Rating:  2 ", 2)],
)
def test_parse_mup_rating(reply: str, rating: int | None) -> None:
    assert parse_mup_rating(reply) == rating


def test_mup_rating_one_dropped_officially_kept_corrected() -> None:
    replies = ["Explanation: great\nDecision: 5", "Decision: 1", "Rating: 3", "garbage"]
    preds = ["We train nets.", "Nothing.", "Deep nets work.", "Unrelated."]
    refs = ["We train deep nets.", "We train deep nets.", "Deep nets work well.", "x"]
    official = score_task("mup_single_document_summarization", preds, refs, [MUP_PROMPT] * 4,
                          judge=FakeJudge(replies))
    assert official.flat["lm_judge_reference_comparison_n_samples"] == 2
    assert official.summary["lm_judge_reference"] == pytest.approx((1.0 + 0.5) / 2)
    corrected = score_task("mup_single_document_summarization", preds, refs, [MUP_PROMPT] * 4,
                           judge=FakeJudge(replies), compat="corrected")
    assert corrected.flat["lm_judge_reference_comparison_n_samples"] == 3
    assert corrected.summary["lm_judge_reference"] == pytest.approx((1.0 + 0.0 + 0.5) / 3)
    assert official.summary["rouge"] == official.flat["rougeL"]
    assert list(official.flat) == ["rouge1", "rouge2", "rougeL", "rougeLsum",
                                   "lm_judge_reference_comparison_n_samples",
                                   "lm_judge_reference_comparison_avg_rating", "bleu"]


def test_mup_judge_prompt_and_sample() -> None:
    judge = FakeJudge(lambda prompt: "Decision: 4")
    n = 150
    result = score_task("mup_single_document_summarization", ["a summary"] * n, ["the summary"] * n,
                        [MUP_PROMPT] * n, judge=judge)
    random.seed(42)
    expected = sorted(random.sample(range(n), 100))
    assert [i for i, d in enumerate(result.details) if "judge_rating" in d] == expected
    assert result.summary["lm_judge_reference"] == 0.75
    prompt = judge.prompts[0]
    assert "Title: Deep Nets" in prompt and "Decision:" in prompt
    # body: after "Paper body:", up to 2 characters before "sentence paper summary", stripped
    assert "Body text:\nWe train deep nets.\n\nYour\n\nReference summary:" in prompt
    assert "Reference summary:\nthe summary" in prompt and "Model summary:\na summary" in prompt


def test_mup_nothing_kept_and_no_judge() -> None:
    nothing = score_task("mup_single_document_summarization", ["x y"], ["x y"], [MUP_PROMPT],
                         judge=FakeJudge(["Decision: 1"]))
    assert nothing.summary["lm_judge_reference"] is None and nothing.flat["official_errors"] == 1
    no_judge = score_task("mup_single_document_summarization", ["x y"], ["x y"], [MUP_PROMPT])
    assert no_judge.summary == {"lm_judge_reference": None, "rouge": 1.0}
    assert no_judge.judge is None and "lm_judge_reference_comparison_n_samples" not in no_judge.flat


def test_mup_eos_strip_changes_the_text() -> None:
    official = score_task("mup_single_document_summarization", ["strengths and weaknesses</s>"],
                          ["strengths and weaknesses"], [])
    assert official.flat["rouge1"] == pytest.approx(1 / 3)  # "trengths and weaknesse": only "and" left
    corrected = score_task("mup_single_document_summarization", ["strengths and weaknesses</s>"],
                           ["strengths and weaknesses"], [], compat="corrected")
    assert corrected.flat["rouge1"] == 1.0


# --- discomat_te and BLEU for every task --------------------------------------------------------------------


def test_discomat_bleu_only() -> None:
    lines = [json.dumps({"value": v, "type": "Other"}) for v in ("0.5", "70", "12.1")]
    # 4-grams never span one cell's value to the next, so reversing the cells still scores 1.0
    result = score_task("discomat_te", ["\n".join(reversed(lines))], ["\n".join(lines)], [])
    assert result.flat == {"bleu": pytest.approx(1.0)} and result.summary == {"bleu": pytest.approx(1.0)}
    mixed = [*lines[:1], json.dumps({"value": "70", "type": "Glass_Compound_Amount", "constituent": "SiO2",
                                     "unit": "mol", "material": "xx"})]
    assert score_task("discomat_te", ["\n".join(reversed(mixed))], ["\n".join(mixed)], []).summary["bleu"] < 1


def test_all_empty_predictions_bleu_zero_with_warning() -> None:
    result = score_task("discomat_te", ["", "</s>"], ['{"value": "1"}', '{"value": "2"}'], [])
    assert result.summary == {"bleu": 0.0}
    assert result.flat["official_errors"] == 1 and "BLEU" in result.warnings[0]
    listed = score("bioasq_list_qa", ["", ""], [["a"], ["b"]])
    assert listed.flat["bleu"] == 0.0 and listed.flat["all_f1"] == 0.0


def test_bleu_on_raw_cleaned_text_for_json_tasks() -> None:
    gold = json.dumps({"verdict": "SUPPORT", "evidence": ["Aspirin reduces pain in most adult patients."]})
    same = score_task("scifact_entailment", [gold + "</s>"], [gold], [])
    fenced = score_task("scifact_entailment", ["```json\n" + gold + "\n```"], [gold], [])
    assert same.flat["bleu"] == 1.0 and fenced.flat["bleu"] < 1.0
    assert fenced.summary == same.summary
