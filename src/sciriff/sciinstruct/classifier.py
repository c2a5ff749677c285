"""Stage `quality_classifier`: SciGLM's instruction-quality filter, as a cheap CPU classifier.

SciGLM finetuned ChatGLM3-6B-Base to emit "True"/"False" after (question, answer) and kept a
solution when P(True) - P(False) > 0. Finetuning an LM on ~100 labelled solutions costs minutes of CPU
and overfits them, so here the base model stays frozen: one forward pass per (question, solution)
ending in "Is this solution correct? Answer True or False.\nAnswer:" gives the paper's signal (the
logit of " True" minus that of " False" at the last position) and the mean-pooled last hidden state;
a logistic regression (L2, balanced classes, standardized features) on them outputs P(keep). It
trains in seconds and is deterministic. Positives: solutions the checker accepted, and labelled
`correct` ones; negatives: every rejected attempt, and labelled `incorrect` ones. Questions are held
out (a seeded share of them), so no question is on both sides; the held-out precision/recall at
`annotate.keep_threshold` are metrics. The accepted solutions with P(keep) >= the threshold form
data/sciinstruct/filtered.jsonl in the chat format of the mix.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

from sciriff.io import read_json, read_jsonl, stable_seed, write_json, write_jsonl
from sciriff.params import AnnotateParams
from sciriff.sciinstruct.prompts import problem_prompt
from sciriff.sciinstruct.teacher import model_identity
from sciriff.tracking import mlflow_run, numeric_metrics

CUE = "\n\nIs this solution correct? Answer True or False.\nAnswer:"


def classifier_text(question: str, solution: str) -> str:
    return f"Question: {question.strip()}\n\nSolution: {solution.strip()}{CUE}"


def features(model_dir: str | Path, texts: list[str], max_length: int, batch_size: int) -> Any:
    """[mean-pooled last hidden state..., logit(" True") - logit(" False")] per text (numpy, float64)."""
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir), padding_side="right", truncation_side="left")
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    true_id, false_id = tok.encode(" True")[0], tok.encode(" False")[0]
    rows = []
    for start in range(0, len(texts), batch_size):
        enc = tok(texts[start : start + batch_size], return_tensors="pt", padding=True, truncation=True,
                  max_length=max_length)
        last = enc["attention_mask"].sum(1) - 1
        keep = torch.unique(last)  # the LM head runs only where a text ends (sorted positions)
        with torch.inference_mode():
            out = model(**enc, output_hidden_states=True, logits_to_keep=keep)
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (out.hidden_states[-1] * mask).sum(1) / mask.sum(1)
        logits = out.logits[torch.arange(len(last)), torch.searchsorted(keep, last)]
        rows.append(torch.cat([pooled, (logits[:, true_id] - logits[:, false_id]).unsqueeze(-1)], dim=-1))
    return np.concatenate([r.double().numpy() for r in rows]) if rows else np.zeros((0, 1))


def labelled_examples(annotated: list[dict], labelled_path: str | None) -> list[dict]:
    """(question, solution, label, group) from the annotation attempts and the labelled file, deduplicated."""
    examples: dict[tuple[str, str], dict] = {}
    for problem in annotated:
        for attempt in problem["attempts"]:
            if attempt["solution"].strip():
                examples.setdefault((problem["question"], attempt["solution"]), {
                    "question": problem["question"], "solution": attempt["solution"],
                    "label": int(bool(attempt["correct"])), "source": f"annotate:{problem['id']}:{attempt['round']}"})
    if labelled_path:
        for row in read_jsonl(labelled_path):
            if row.get("label") not in ("correct", "incorrect") or not str(row.get("solution", "")).strip():
                raise ValueError(f"{labelled_path}: {row.get('id')}: needs a solution and label correct|incorrect")
            examples.setdefault((row["question"], row["solution"]), {
                "question": row["question"], "solution": row["solution"], "label": int(row["label"] == "correct"),
                "source": f"labelled:{row['id']}"})
    rows = sorted(examples.values(), key=lambda r: r["source"])
    for row in rows:
        row["group"] = hashlib.sha256(row["question"].encode()).hexdigest()[:16]
    return rows


def run_quality_classifier(params: AnnotateParams, annotated_dir: str | Path = "data/sciinstruct/annotated",
                           out_dir: str | Path = "data/sciinstruct/classifier",
                           filtered_path: str | Path = "data/sciinstruct/filtered.jsonl",
                           metrics_path: str | Path = "metrics/annotate.json") -> dict[str, Any]:
    """Train, evaluate on held-out questions, filter the accepted solutions; returns metrics/annotate.json."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    cfg = params.classifier
    annotated = list(read_jsonl(Path(annotated_dir) / "solutions.jsonl"))
    stats = read_json(Path(annotated_dir) / "stats.json")
    examples = labelled_examples(annotated, cfg.labelled)
    groups = sorted({e["group"] for e in examples}, key=lambda g: stable_seed("heldout", cfg.seed, g))
    held_groups = set(groups[: round(cfg.heldout_fraction * len(groups))])
    heldout = [e["group"] in held_groups for e in examples]
    labels = np.array([e["label"] for e in examples])
    train_labels = {int(y) for y, h in zip(labels, heldout, strict=True) if not h}
    if train_labels != {0, 1}:
        raise ValueError(f"quality_classifier: the training part needs correct and incorrect solutions, has "
                         f"labels {sorted(train_labels)} from {len(examples)} examples (add labelled data)")
    candidates = sorted((p for p in annotated if p["accepted_round"] is not None), key=lambda p: p["id"])
    texts = [classifier_text(e["question"], e["solution"]) for e in examples]
    texts += [classifier_text(p["question"], p["solution"]) for p in candidates]
    x = features(cfg.model, texts, cfg.max_length, cfg.batch_size)
    x_examples, x_candidates = x[: len(examples)], x[len(examples) :]
    train = np.array([not h for h in heldout])
    scaler = StandardScaler().fit(x_examples[train])
    model = LogisticRegression(C=cfg.C, class_weight="balanced", max_iter=2000)
    model.fit(scaler.transform(x_examples[train]), labels[train])

    def p_keep(matrix: Any) -> list[float]:
        return [round(float(p), 6) for p in model.predict_proba(scaler.transform(matrix))[:, 1]] if len(matrix) else []

    held_p = p_keep(x_examples[~train])
    held_y = labels[~train].tolist()
    evaluation = _precision_recall(held_y, held_p, params.keep_threshold)
    scores = p_keep(x_candidates)
    kept = [p for p, s in zip(candidates, scores, strict=True) if s >= params.keep_threshold]
    classifier = {**evaluation, "train": int(train.sum()), "train_positive": int(labels[train].sum()),
                  "threshold": params.keep_threshold, "candidates": len(candidates), "kept": len(kept),
                  "dropped": len(candidates) - len(kept)}
    metrics = {**{k: v for k, v in stats.items() if k != "teacher_settings"}, "classifier": classifier}
    with mlflow_run("quality_classifier", {"annotate": {"classifier": cfg.model_dump(),
                                                        "keep_threshold": params.keep_threshold}}) as mlflow:
        write_json(Path(out_dir) / "model.json", {
            "features": {"model": model_identity(cfg.model), "text": "Question: ...\n\nSolution: ..." + CUE,
                         "pooling": "mean of the last hidden state + logit(' True') - logit(' False')",
                         "max_length": cfg.max_length},
            "scaler": {"mean": _r(scaler.mean_), "scale": _r(scaler.scale_)},
            "coef": _r(model.coef_[0]), "intercept": round(float(model.intercept_[0]), 6), "C": cfg.C,
        })
        write_jsonl(Path(out_dir) / "heldout.jsonl", [
            {"source": e["source"], "label": e["label"], "p_keep": p}
            for e, p in zip([e for e, h in zip(examples, heldout, strict=True) if h], held_p, strict=True)])
        write_jsonl(Path(out_dir) / "scores.jsonl", [
            {"id": p["id"], "accepted_round": p["accepted_round"], "p_keep": s, "kept": s >= params.keep_threshold}
            for p, s in zip(candidates, scores, strict=True)])
        write_jsonl(filtered_path, [chat_record(p) for p in kept])
        write_json(metrics_path, metrics)
        mlflow.log_metrics(numeric_metrics(classifier, "classifier/"))
    return metrics


def chat_record(problem: dict) -> dict:
    """An accepted solution in the mix's format: the evaluation prompt, then the solution."""
    return {"dataset": f"sciinstruct.{problem['subject']}", "id": problem["id"],
            "messages": [{"role": "user", "content": problem_prompt(problem)},
                         {"role": "assistant", "content": problem["solution"]}]}


def _precision_recall(labels: list[int], scores: list[float], threshold: float) -> dict[str, Any]:
    predicted = [s >= threshold for s in scores]
    tp = sum(p and y == 1 for p, y in zip(predicted, labels, strict=True))
    fp = sum(p and y == 0 for p, y in zip(predicted, labels, strict=True))
    fn = sum((not p) and y == 1 for p, y in zip(predicted, labels, strict=True))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall) if precision and recall else
          (0.0 if precision is not None and recall is not None else None))
    accuracy = sum(p == (y == 1) for p, y in zip(predicted, labels, strict=True)) / len(labels) if labels else None
    return {"heldout": len(labels), "heldout_positive": sum(labels), "precision": _round(precision),
            "recall": _round(recall), "f1": _round(f1), "accuracy": _round(accuracy)}


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 4)


def _r(values: Any) -> list[float]:
    return [round(float(v), 6) for v in values]
