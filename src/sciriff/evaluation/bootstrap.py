"""95% bootstrap intervals for the headline columns: what is signal and what is noise.

Each replicate resamples every task's instances with replacement (a seeded generator, so intervals
are reproducible byte for byte) and re-scores them with the unchanged evaluators; the interval is the
2.5th-97.5th percentile over replicates. The LM judge is never called again: a replicate's judge
prompts are a subset of the ones the real scoring pass sent, so their replies are replayed from it.
Two models scored on the same instance ids get the same resamples (a paired bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sciriff.evaluation.context import Judge
from sciriff.evaluation.official_prompts import OfficialPrompts
from sciriff.evaluation.parsing import Compat
from sciriff.evaluation.report import headline
from sciriff.evaluation.tasks import score_task


@dataclass
class RecordingJudge:
    """Wraps a judge and keeps every (prompt, reply) it gave, for replay in the replicates."""

    judge: Judge
    replies: dict[str, str | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.judge.name

    def complete(self, prompts: Sequence[str]) -> list[str | None]:
        replies = self.judge.complete(prompts)
        self.replies.update(zip(prompts, replies, strict=True))
        return replies


@dataclass
class ReplayJudge:
    """Answers only prompts the recording saw; anything else is a bug in the resampling."""

    name: str
    replies: dict[str, str | None]

    def complete(self, prompts: Sequence[str]) -> list[str | None]:
        missing = [p for p in prompts if p not in self.replies]
        if missing:
            raise KeyError(f"bootstrap: {len(missing)} judge prompt(s) were never sent in the scoring pass")
        return [self.replies[p] for p in prompts]


def headline_intervals(
    inputs: dict[str, tuple[list[str], list[str], list[str]]],
    *,
    compat: Compat,
    judge: RecordingJudge | None,
    judge_prompts: OfficialPrompts | None = None,
    replicates: int,
    seed: int,
) -> dict[str, list[float]]:
    """{column: [low, high]} (0-100) for the headline columns and the mean.

    `inputs` maps task -> (predictions, references, prompts) in the order they were scored.
    """
    replay = ReplayJudge(judge.name, judge.replies) if judge is not None else None
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    for _ in range(replicates):
        scores = {}
        for task, (preds, refs, prompts) in sorted(inputs.items()):
            picks = rng.integers(0, len(preds), len(preds)) if preds else []
            scores[task] = score_task(task, [preds[i] for i in picks], [refs[i] for i in picks],
                                      [prompts[i] for i in picks], compat=compat, judge=replay,
                                      judge_prompts=judge_prompts)
        for column, value in headline(scores).items():
            if column not in ("median", "n_columns") and value is not None:
                samples.setdefault(column, []).append(value)
    return {column: [round(float(np.percentile(values, 2.5)), 4), round(float(np.percentile(values, 97.5)), 4)]
            for column, values in samples.items()}
