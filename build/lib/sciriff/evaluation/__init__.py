"""SciRIFF-Eval scoring that reproduces the official allenai/SciRIFF evaluation code.

Modules: `parsing` (output clean-up, JSON extraction, entry normalisation), `metrics` (P/R/F1,
SQuAD token F1, BLEU, ROUGE), `tasks` (the nine task evaluators, LM-judge prompts, `score_task`),
`report` (the 11-column headline and `score_file`). The LM-judge client itself is
`sciriff.evaluation.judge`; anything with the `Judge` protocol's shape can be passed in.
"""

from sciriff.evaluation.report import HEADLINE_COLUMNS, headline, score_file
from sciriff.evaluation.tasks import COMPAT_DIFFERENCES, EVALUATORS, Judge, TaskScore, score_task

__all__ = [
    "COMPAT_DIFFERENCES",
    "EVALUATORS",
    "HEADLINE_COLUMNS",
    "Judge",
    "TaskScore",
    "headline",
    "score_file",
    "score_task",
]
