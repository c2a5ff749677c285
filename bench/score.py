"""Benchmark: score 9 tasks x 1,000 synthetic predictions (no judge) and report the wall time.

The data are deterministic and shaped like SciRIFF-Eval outputs (JSON lists, entity dicts, findings,
verdicts, QA objects, 5-sentence summaries, JSON-lines tables), with a mix of perfect, partial,
wrapped (fenced / prose), malformed and empty predictions. Writes bench/results/score.json.

    .venv/bin/python bench/score.py
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path

from sciriff.evaluation import EVALUATORS, score_task
from sciriff.io import write_json

N_PER_TASK = 1000
RESULTS = Path(__file__).resolve().parent / "results" / "score.json"
SYLLABLES = ["ka", "lo", "mi", "ne", "ra", "to", "su", "vi", "en", "ol", "ar", "is", "um", "pe", "di", "zo"]
EFFECTS = ["significantly increased", "significantly decreased", "no significant difference"]
INTENTS = ["Background", "Motivation", "Uses", "Extends", "Similarities", "Differences", "FutureWork"]


class Synth:
    """Deterministic pseudo-text."""

    def __init__(self, seed: int):
        self.rnd = random.Random(seed)
        self.vocab = ["".join(self.rnd.choice(SYLLABLES) for _ in range(self.rnd.randint(1, 4))) for _ in range(3000)]

    def words(self, lo: int, hi: int) -> str:
        return " ".join(self.rnd.choice(self.vocab) for _ in range(self.rnd.randint(lo, hi)))

    def sentence(self, lo: int = 8, hi: int = 25) -> str:
        return self.words(lo, hi).capitalize() + "."

    def perturb(self, text: str) -> str:
        """A partial answer: drop, swap and substitute some words."""
        tokens = text.split()
        kept = [t for t in tokens if self.rnd.random() > 0.15]
        out = [self.rnd.choice(self.vocab) if self.rnd.random() < 0.2 else t for t in kept]
        if len(out) > 3 and self.rnd.random() < 0.5:
            i = self.rnd.randrange(len(out) - 1)
            out[i], out[i + 1] = out[i + 1], out[i]
        return " ".join(out)

    def render(self, gold_value: object, partial_value: object) -> str:
        """One prediction for a JSON task: perfect, partial, wrapped, malformed or empty."""
        roll = self.rnd.random()
        if roll < 0.35:
            return json.dumps(gold_value)
        text = json.dumps(partial_value)
        if roll < 0.65:
            return text
        if roll < 0.75:
            return f"```json\n{text}\n```"
        if roll < 0.82:
            return f"Here is the requested output: {text} I hope this helps.</s>"
        if roll < 0.92:
            return text[: self.rnd.randint(1, max(1, len(text) - 1))]
        return self.rnd.choice(["", "null", "I cannot answer this question.", "[]"])


def _list_task(s: Synth, labels: list[str] | None) -> tuple[str, str]:
    gold = s.rnd.sample(labels, s.rnd.randint(1, 2)) if labels else [s.words(1, 3) for _ in range(s.rnd.randint(1, 6))]
    partial = [g.upper() if s.rnd.random() < 0.3 else g for g in gold if s.rnd.random() > 0.3]
    partial += [s.rnd.choice(labels) if labels else s.words(1, 3) for _ in range(s.rnd.randint(0, 2))]
    return s.render(gold, partial), json.dumps(gold)


def _ner(s: Synth, task: str) -> tuple[str, str]:
    types = EVALUATORS[task].default
    gold = {t: [s.words(1, 3) for _ in range(s.rnd.randint(0, 4))] for t in types}
    partial = {t: [m for m in v if s.rnd.random() > 0.3] + [s.words(1, 2)] * (s.rnd.random() < 0.3)
               for t, v in gold.items()}
    return s.render(gold, partial), json.dumps(gold, sort_keys=True)


def _evidence_inference(s: Synth) -> tuple[str, str]:
    gold = [[s.words(1, 4), s.words(1, 3) if s.rnd.random() < 0.8 else None, s.words(1, 5), s.rnd.choice(EFFECTS),
             s.sentence()] for _ in range(s.rnd.randint(1, 4))]
    partial = [[s.perturb(x) if x and i != 3 else x for i, x in enumerate(f)] for f in gold if s.rnd.random() > 0.2]
    return s.render(gold, partial), json.dumps(gold)


def _scifact(s: Synth) -> tuple[str, str]:
    verdict = s.rnd.choice(["SUPPORT", "CONTRADICT", "NEI"])
    evidence = [s.sentence() for _ in range(s.rnd.randint(1, 3))] if verdict != "NEI" else []
    gold = {"verdict": verdict, "evidence": evidence}
    partial = {"verdict": s.rnd.choice(["SUPPORT", "CONTRADICT", "NEI"]),
               "evidence": [e for e in evidence if s.rnd.random() > 0.4] + [s.sentence()] * (s.rnd.random() < 0.3)}
    return s.render(gold, partial), json.dumps(gold)


def _qasper(s: Synth) -> tuple[str, str]:
    evidence = [" ".join(s.sentence() for _ in range(4)) for _ in range(s.rnd.randint(1, 3))]
    gold = {"answer": s.words(3, 25), "evidence": evidence}
    partial = {"answer": s.perturb(gold["answer"]), "evidence": evidence[: s.rnd.randint(0, len(evidence))]}
    return s.render(gold, partial), json.dumps(gold)


def _mup(s: Synth) -> tuple[str, str]:
    sentences = [s.sentence(15, 30) for _ in range(5)]
    gold = " ".join(sentences)
    roll = s.rnd.random()
    if roll < 0.2:
        return gold, gold
    if roll < 0.9:
        separator = "\n" if s.rnd.random() < 0.3 else " "
        return separator.join(s.perturb(x) for x in sentences) + ("</s>" if s.rnd.random() < 0.3 else ""), gold
    return s.rnd.choice(["", "This paper proposes a method."]), gold


def _discomat(s: Synth) -> tuple[str, str]:
    cells = [{"value": f"{s.rnd.uniform(0, 100):.2f}", "type": "Other"} if s.rnd.random() < 0.5 else
             {"value": f"{s.rnd.uniform(0, 100):.1f}", "type": "Glass_Compound_Amount", "constituent": s.words(1, 1),
              "unit": "mol", "material": "xx"} for _ in range(s.rnd.randint(4, 16))]
    gold = "\n".join(json.dumps(c) for c in cells)
    roll = s.rnd.random()
    if roll < 0.4:
        return gold, gold
    if roll < 0.85:
        return "\n".join(json.dumps(c) for c in cells if s.rnd.random() > 0.2), gold
    return f"```\n{gold[: len(gold) // 2]}", gold


GENERATORS: dict[str, Callable[[Synth], tuple[str, str]]] = {
    "bioasq_list_qa": lambda s: _list_task(s, None),
    "biored_ner": lambda s: _ner(s, "biored_ner"),
    "discomat_te": _discomat,
    "evidence_inference": _evidence_inference,
    "multicite_intent_classification": lambda s: _list_task(s, INTENTS),
    "mup_single_document_summarization": _mup,
    "qasper_abstractive_qa": _qasper,
    "scierc_ner": lambda s: _ner(s, "scierc_ner"),
    "scifact_entailment": _scifact,
}


def main() -> dict:
    """Generate, score without a judge, time the scoring only, write the result."""
    data = {}
    for k, (task, generate) in enumerate(GENERATORS.items()):
        synth = Synth(seed=k)
        pairs = [generate(synth) for _ in range(N_PER_TASK)]
        data[task] = ([p for p, _ in pairs], [r for _, r in pairs])
    per_task = {}
    start = time.perf_counter()
    for task, (predictions, references) in data.items():
        t0 = time.perf_counter()
        score_task(task, predictions, references, [])
        per_task[task] = round(time.perf_counter() - t0, 3)
    seconds = time.perf_counter() - start
    n = sum(len(p) for p, _ in data.values())
    result = {"predictions": n, "seconds": round(seconds, 3), "per_task_seconds": per_task}
    write_json(RESULTS, result)
    slowest = max(per_task, key=per_task.get)
    print(f"scored {n} predictions in {seconds:.2f}s ({n / seconds:.0f}/s; slowest {slowest} {per_task[slowest]:.2f}s)")
    return result


if __name__ == "__main__":
    main()
