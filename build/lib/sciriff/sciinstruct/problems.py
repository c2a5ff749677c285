"""Stage `sciinstruct_ingest`: unlabelled science problems (question + final answer) with provenance.

Sources: the bundled sample (data/sample/sciinstruct), local files of the same shape
(data/local/sciinstruct), or a Hugging Face dataset at a pinned revision (the released SciInstruct:
its records carry a solution, whose final answer becomes the problem's answer). Every problem keeps
`where` (file:line or hub[split][index]). A problem the checker could never check (no answer, an
answer that does not parse, an unknown answer type, a duplicate id) is rejected, counted and listed
in rejected.jsonl with its place; it never reaches the teacher. Malformed JSON fails the stage.
Output: data/sciinstruct/problems/{train,test,rejected}.jsonl + manifest.json.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from sciriff.io import DataError, atomic_path, dumps, read_jsonl_numbered, write_json
from sciriff.params import AnnotateParams
from sciriff.sciinstruct.checker import LETTERS, extract_final_answer, gold_error, parse_expression, parse_number

SPLITS = ("train", "test")
HUB_LETTERS = LETTERS[:6]
FIELDS = ("id", "subject", "question", "answer", "answer_type", "choices")


def _file_records(directory: Path) -> Iterator[tuple[str, str, dict]]:
    if not directory.is_dir():
        raise DataError(f"{directory}: SciInstruct problem directory not found")
    for split in SPLITS:
        path = directory / f"{split}.jsonl"
        if not path.exists():
            raise DataError(f"{path}: missing (a problem source needs train.jsonl and test.jsonl)")
        for lineno, record in read_jsonl_numbered(path):
            yield split, f"{path}:{lineno}", record


def _hub_records(params: AnnotateParams) -> Iterator[tuple[str, str, dict]]:
    """The released SciInstruct at a pinned revision, mapped to the problem shape (not reachable offline)."""
    import datasets

    hub = params.hf
    loaded = datasets.load_dataset(hub.id, revision=hub.revision)
    splits = {"train": hub.train_split, "test": hub.test_split}
    for split, name in splits.items():
        if name is None:
            continue
        for index, record in enumerate(loaded[name]):
            yield split, f"{hub.id}@{hub.revision[:12]}[{name}][{index}]", _from_hub(record, f"{name}-{index}", params)
    if hub.test_split is None:  # held-out problems from the bundled sample
        for split, where, record in _file_records(Path(params.sample_dir)):
            if split == "test":
                yield split, where, record


def _from_hub(record: dict, problem_id: str, params: AnnotateParams) -> dict:
    """A released record (question + solution) as a problem: the solution's final answer is the answer.

    Multiple-choice options live inside the released questions, so the choices are the letters A-F.
    """
    hub = params.hf
    raw = str(record.get(hub.answer_field) or "")
    answer = extract_final_answer(raw) if "\n" in raw or len(raw) > 80 else raw.strip()
    answer = answer or ""
    kind = ("mc" if len(answer) == 1 and answer in HUB_LETTERS else
            "numeric" if parse_number(answer) is not None else "expression")
    subject = str(record.get(hub.subject_field, "") if hub.subject_field else "") or "science"
    return {"id": problem_id, "subject": subject, "question": str(record.get(hub.question_field, "")),
            "answer": answer, "answer_type": kind,
            **({"choices": list(HUB_LETTERS)} if kind == "mc" else {})}


def problem_records(params: AnnotateParams) -> Iterator[tuple[str, str, dict]]:
    """(split, where, record) from wherever `annotate.source` says."""
    if params.source == "hf":
        return _hub_records(params)
    return _file_records(Path(params.sample_dir if params.source == "sample" else params.local_dir))


def check_problem(record: dict) -> str | None:
    """Why a record cannot be a problem (None: it can)."""
    for key in ("id", "subject", "question"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            return f"missing or empty '{key}'"
    return gold_error(record)


def run_problems(params: AnnotateParams, out_dir: str | Path = "data/sciinstruct/problems") -> dict:
    """Validate and normalize the problems; returns the manifest (counts, rejects, source)."""
    kept: dict[str, list[dict]] = {split: [] for split in SPLITS}
    rejected: list[dict] = []
    seen: dict[str, str] = {}
    for split, where, record in problem_records(params):
        reason = check_problem(record)
        problem_id = str(record.get("id", ""))
        if reason is None and problem_id in seen:
            reason = f"duplicate id (first at {seen[problem_id]})"
        if reason is not None:
            rejected.append({"id": problem_id, "split": split, "where": where, "reason": reason})
            print(f"warning: {where}: problem {problem_id!r} rejected: {reason}", file=sys.stderr)
            continue
        seen[problem_id] = where
        problem = {k: record[k] for k in FIELDS if k in record}
        problem["answer"] = problem["answer"].strip()
        if problem["answer_type"] == "expression":
            problem["answer_sympy"] = str(parse_expression(problem["answer"]))
        kept[split].append({**problem, "where": where})
    for split in SPLITS:
        if not kept[split]:
            raise DataError(f"annotate.source {params.source!r}: no valid {split} problems "
                            f"({sum(r['split'] == split for r in rejected)} rejected)")
    manifest = {
        "source": _source(params),
        "problems": {split: len(rows) for split, rows in kept.items()},
        "by_subject": {split: dict(sorted(Counter(p["subject"] for p in rows).items()))
                       for split, rows in kept.items()},
        "by_answer_type": {split: dict(sorted(Counter(p["answer_type"] for p in rows).items()))
                           for split, rows in kept.items()},
        "rejected": len(rejected),
    }
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for split, rows in kept.items():
            with (tmp / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
                handle.writelines(dumps(row) + "\n" for row in sorted(rows, key=lambda r: r["id"]))
        with (tmp / "rejected.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(dumps(row) + "\n" for row in rejected)
        write_json(tmp / "manifest.json", manifest)
    return manifest


def _source(params: AnnotateParams) -> dict:
    if params.source == "hf":
        return {"kind": "hf", "id": params.hf.id, "revision": params.hf.revision}
    return {"kind": params.source, "dir": params.sample_dir if params.source == "sample" else params.local_dir}
