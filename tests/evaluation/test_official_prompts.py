"""`score.judge.prompts: official`: judge prompts built from a checkout of allenai/SciRIFF, byte for byte.

The checkout here is a fixture written by this test: the official file layout and the shape of its
`make_prompt` functions (extraction, an indented f-string, a `.replace(...)` clean-up, an `eval_type`
branch for MUP), with placeholder wording. The expected prompt is what the fixture's own function
returns when Python runs it; the project must rebuild exactly that without importing the module.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from sciriff.evaluation import score_task
from sciriff.evaluation.official_prompts import OFFICIAL_FILES, OfficialPromptError, load_judge_prompts
from sciriff.evaluation.report import score_file

QASPER_GOLD = {"answer": "BERT and ELMo", "evidence": ["We use BERT.", "ELMo too."]}
QASPER_PROMPT = ("Read the paper and answer.\n\n----------------------------------------\n"
                 "Contextual    Embeddings\n----------------------------------------\n\nWe use BERT.\n\n"
                 "Question: Which models are used?")
MUP_PROMPT = ("Summarize the paper.\n\nPaper title:\nDeep Nets\n\nPaper body:\nWe train deep nets.\n\n"
              "Your 2 sentence paper summary:")

QASPER_FIXTURE = '''\
import re

raise RuntimeError("fixture: the project must never import or run this module")


def make_prompt(instance):
    lines = instance["prompt"].split("\\n")
    title = lines[lines.index("----------------------------------------") + 1]
    question = [line for line in lines if re.match("^Question:", line)]
    if len(question) != 1:
        raise ValueError("placeholder")
    question = question[0].replace("Question: ", "")
    excerpts = "\\n".join(instance["ref"]["evidence"])

    prompt = f"""\\
    PLACEHOLDER QASPER JUDGE WORDING, written for this test.
    T: {title}

    E:
    {excerpts}

    Q: {question!r}
    R: {instance['ref']['answer']}
    A: {instance['pred']['answer'] if 'answer' in instance['pred'] else None}
    """
    prompt = prompt.replace("    ", "")

    return prompt
'''

MUP_FIXTURE = '''\
def make_prompt(instance, eval_type):
    if eval_type == "model_comparison":
        prompt = f"""PLACEHOLDER COMPARISON {instance['target_sents']}
        {instance['prediction']}"""
    else:
        prompt = f"""PLACEHOLDER MUP JUDGE WORDING, written for this test.
        Title: {instance['title']}

        Body:
        {instance['body_text']}
        Ref:
        {instance['reference']}
        Model:
        {instance['prediction']}
        """

    prompt = prompt.replace("        ", "")

    return prompt
'''


class RecordingJudge:
    """Stand-in judge model: answers every prompt with a fixed rating and keeps the prompts."""

    name = "recording-judge"

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def complete(self, prompts: Sequence[str]) -> list[str | None]:
        self.prompts.extend(prompts)
        return ["Explanation: placeholder.\nRating: 4\nDecision: 4"] * len(prompts)


def _checkout(root: Path, qasper: str = QASPER_FIXTURE, mup: str = MUP_FIXTURE) -> Path:
    for task, text in (("qasper", qasper), ("mup", mup)):
        path = root / OFFICIAL_FILES[task]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _fixture_function(text: str):
    """The fixture's make_prompt, run by Python: the expected output."""
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == "make_prompt")
    namespace: dict = {"re": re}
    exec(compile(ast.Module([node], []), "fixture", "exec"), namespace)
    return namespace["make_prompt"]


def test_official_qasper_prompt_is_the_checkout_function_output_exactly(tmp_path: Path) -> None:
    prompts = load_judge_prompts("official", str(_checkout(tmp_path / "SciRIFF")))
    preds = [{"answer": ["BERT", ["ELMo"]], "evidence": []}, {"answer": "a    b  c", "evidence": None},
             {"answer": {"k": 1}}, {"answer": None, "evidence": []}]
    judge = RecordingJudge()
    score_task("qasper_abstractive_qa", [json.dumps(p) for p in preds], [json.dumps(QASPER_GOLD)] * 4,
               [QASPER_PROMPT] * 4, judge=judge, judge_prompts=prompts)
    official = _fixture_function(QASPER_FIXTURE)
    expected = [official({"prompt": QASPER_PROMPT, "ref": QASPER_GOLD, "pred": p}) for p in preds[:3]]
    assert judge.prompts == expected  # the unanswered one is rated 1 without a call, as officially
    assert judge.prompts[1] == (
        "PLACEHOLDER QASPER JUDGE WORDING, written for this test.\nT: ContextualEmbeddings\n\nE:\n"
        "We use BERT.\nELMo too.\n\nQ: 'Which models are used?'\nR: BERT and ELMo\nA: ab  c\n")


def test_official_mup_prompt_is_the_checkout_function_output_exactly(tmp_path: Path) -> None:
    prompts = load_judge_prompts("official", str(_checkout(tmp_path / "SciRIFF")))
    judge = RecordingJudge()
    preds = ["a        summary", "b"]
    score_task("mup_single_document_summarization", preds, ["the summary", "ref"], [MUP_PROMPT, "no title here"],
               judge=judge, judge_prompts=prompts)
    official = _fixture_function(MUP_FIXTURE)
    expected = [official({"title": "Deep Nets", "body_text": "We train deep nets.\n\nYour", "reference": "the summary",
                          "prediction": preds[0]}, "reference_comparison"),
                official({"title": None, "body_text": None, "reference": "ref", "prediction": "b"},
                         "reference_comparison")]
    assert judge.prompts == expected
    assert judge.prompts[0] == ("PLACEHOLDER MUP JUDGE WORDING, written for this test.\nTitle: Deep Nets\n\nBody:\n"
                                "We train deep nets.\n\nYour\nRef:\nthe summary\nModel:\nasummary\n")


def test_corrected_compat_keeps_spaces_inside_the_inserted_text_only(tmp_path: Path) -> None:
    prompts = load_judge_prompts("official", str(_checkout(tmp_path / "SciRIFF")))
    judge = RecordingJudge()
    score_task("mup_single_document_summarization", ["a        summary"], ["the summary"], [MUP_PROMPT],
               judge=judge, judge_prompts=prompts, compat="corrected")
    assert judge.prompts[0].startswith("PLACEHOLDER MUP JUDGE WORDING, written for this test.\nTitle: Deep Nets\n")
    assert judge.prompts[0].endswith("Model:\na        summary\n")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def test_the_checkout_is_pinned_by_its_commit(tmp_path: Path) -> None:
    root = _checkout(tmp_path / "SciRIFF")
    unversioned = load_judge_prompts("official", str(root)).label
    assert re.fullmatch(r"official@sha256:[0-9a-f]{16}", unversioned)
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "fixture")
    commit = _git(root, "rev-parse", "HEAD")
    assert load_judge_prompts("official", str(root)).label == f"official@{commit}"
    path = root / OFFICIAL_FILES["mup"]
    path.write_text(path.read_text().replace("PLACEHOLDER MUP", "EDITED MUP"))
    assert load_judge_prompts("official", str(root)).label == f"official@{commit}+modified"
    assert load_judge_prompts("project", None) is None


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("no_checkout", r"score\.judge\.official_checkout: .*SciRIFF-missing is not a directory"),
        ("no_qasper_file", r"score\.judge\.official_checkout: .*attributed_qa_eval\.py not found"),
        ("no_mup_function", r"summary_comparison\.py: no top-level function make_prompt\(\) .*official_checkout"),
        ("unsupported",
         r"attributed_qa_eval\.py:2: cannot rebuild the official prompt from .*shorten.*official_checkout"),
    ],
)
def test_a_broken_checkout_names_the_path_and_the_key(tmp_path: Path, breakage: str, message: str) -> None:
    root = _checkout(tmp_path / "SciRIFF")
    if breakage == "no_checkout":
        root = tmp_path / "SciRIFF-missing"
    elif breakage == "no_qasper_file":
        (root / OFFICIAL_FILES["qasper"]).unlink()
    elif breakage == "no_mup_function":
        (root / OFFICIAL_FILES["mup"]).write_text("def other(instance):\n    return ''\n")
    else:
        (root / OFFICIAL_FILES["qasper"]).write_text("def make_prompt(instance):\n    prompt = shorten(title)\n"
                                                     "    return prompt\n")
    with pytest.raises(OfficialPromptError, match=message):
        prompts = load_judge_prompts("official", str(root))
        score_task("qasper_abstractive_qa", [json.dumps(QASPER_GOLD)], [json.dumps(QASPER_GOLD)], [QASPER_PROMPT],
                   judge=RecordingJudge(), judge_prompts=prompts)


def test_official_prompts_without_a_checkout_fail_when_params_load(tmp_path: Path) -> None:
    from sciriff.params import ParamsError, load_params

    path = tmp_path / "params.yaml"
    path.write_text("score:\n  judge:\n    prompts: official\n")
    with pytest.raises(ParamsError, match=r"score\.judge: .*official_checkout is not set"):
        load_params(path)


def test_project_prompts_are_byte_identical_to_before_official_mode() -> None:
    """Digest of the project's judge prompts for fixed inputs, taken with the code before `prompts` existed."""
    judge = RecordingJudge()
    for compat in ("official", "corrected"):
        preds = [json.dumps(p) for p in ({"answer": ["BERT", "ELMo"], "evidence": []}, {"answer": "a    b"},
                                         {"answer": None})]
        score_task("qasper_abstractive_qa", preds, [json.dumps(QASPER_GOLD)] * 3,
                   [QASPER_PROMPT, QASPER_PROMPT, "no title\nQuestion: q"], compat=compat, judge=judge)
        score_task("mup_single_document_summarization", ["a        summary", "b"], ["the summary", "r"],
                   [MUP_PROMPT, "nothing"], compat=compat, judge=judge)
    digest = hashlib.sha256("\x00".join(judge.prompts).encode()).hexdigest()
    assert digest == "4e0d2afd3e297e0b9fc973e18299832fa5c4f2cbc4f87ac0f23896b46590768f"


def test_score_file_records_which_prompts_were_used(tmp_path: Path) -> None:
    root = _checkout(tmp_path / "SciRIFF")
    rows = [{"task": "qasper_abstractive_qa", "id": "q1", "input": QASPER_PROMPT, "reference": json.dumps(QASPER_GOLD),
             "prediction": json.dumps(QASPER_GOLD)}]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    official = load_judge_prompts("official", str(root))
    summary = score_file(tmp_path / "p.jsonl", tmp_path / "out", judge=RecordingJudge(),
                         judge_prompts=official)["summary"]
    assert summary["judge_prompts"] == official.label
    project = score_file(tmp_path / "p.jsonl", tmp_path / "out2", judge=RecordingJudge())["summary"]
    assert project["judge_prompts"] == "project"
    assert score_file(tmp_path / "p.jsonl", tmp_path / "out3")["summary"]["judge_prompts"] is None
