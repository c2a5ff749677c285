"""SciRIFF-Eval scoring that reproduces the official allenai/SciRIFF evaluation code.

Modules: `parsing` (output clean-up, JSON extraction, entry normalisation), `metrics` (P/R/F1,
SQuAD token F1, BLEU, ROUGE), `context` (the run state shared by the scorers, the `Judge` protocol),
`scorers` and `judged_scorers` (the nine task scorers), `judge_prompts` (LM-judge prompts and reply
parsers), `tasks` (the task registry and `score_task`), `report` (the 11-column headline and
`score_file`). The LM-judge client itself is `sciriff.evaluation.judge`; anything with the `Judge`
protocol's shape can be passed in.
"""

from sciriff.evaluation.context import Judge
from sciriff.evaluation.report import HEADLINE_COLUMNS, headline, score_file
from sciriff.evaluation.tasks import COMPAT_DIFFERENCES, EVALUATORS, TaskScore, score_task

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
