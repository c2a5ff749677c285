"""Text metrics shared by the SciRIFF-Eval tasks: P/R/F1, SQuAD token F1, BLEU and ROUGE (spec §2, §5).

Each reproduces, to float precision, the function the official scorer calls:
- `prf` / `token_f1`: the official `compute_f1` / `compute_token_f1`.
- `corpus_bleu`: `evaluate`'s "bleu" (tensorflow/nmt `compute_bleu`, max order 4, no smoothing,
  brevity penalty) over sacrebleu's 13a tokenization, without depending on `evaluate`.
- `corpus_rouge`: `evaluate`'s "rouge" (rouge_score, no stemmer) with its 1000-resample bootstrap,
  reporting the median of the bootstrap means of the F-measure. `evaluate` seeds numpy's global
  RNG with a seed fixed when the metric is loaded and the official script never seeds numpy, so the
  official values drift run to run by a few 0.001. Here the bootstrap uses its own
  `RandomState(ROUGE_SEED)` per call: the result equals what the official code prints when numpy's
  global RNG was seeded with `ROUGE_SEED` before `evaluate.load("rouge")`. The resampling is
  vectorised but draws the same indices and sums in the same order as rouge_score.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
ROUGE_SEED = 42
ROUGE_RESAMPLES = 1000
BLEU_MAX_ORDER = 4


def safe_div(numerator: float, denominator: float) -> float:
    """numerator / denominator, 0.0 when the denominator is 0 (official `safe_div`)."""
    return numerator / denominator if denominator != 0 else 0.0


def prf(correct: int, preds: int, refs: int) -> dict[str, float]:
    """Micro precision / recall / F1 from counts; each is 0 when undefined (official `compute_f1`)."""
    precision = correct / preds if preds > 0 else 0.0
    recall = correct / refs if refs > 0 else 0.0
    return {"p": precision, "r": recall, "f1": safe_div(2 * precision * recall, precision + recall)}


# --- SQuAD token F1 ---------------------------------------------------------------------------

_DROP_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_tokens(text: str) -> list[str]:
    """SQuAD v1.1 normalisation: lowercase, drop ASCII punctuation and a/an/the, split on whitespace."""
    return _ARTICLES.sub(" ", text.lower().translate(_DROP_PUNCTUATION)).split()


@lru_cache(maxsize=1 << 16)  # the bootstrap re-scores the same pairs in every replicate
def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 over multisets of normalised tokens; 0 when nothing overlaps (even both empty)."""
    pred_tokens = squad_tokens(prediction)
    ref_tokens = squad_tokens(reference)
    num_same = clipped_matches(Counter(pred_tokens), Counter(ref_tokens))
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(pred_tokens)
    recall = 1.0 * num_same / len(ref_tokens)
    return (2 * precision * recall) / (precision + recall)


# --- BLEU -------------------------------------------------------------------------------------

# sacrebleu's 13a tokenizer, token for token, faster. Its first rule pads every character of a class
# (ASCII punctuation, the space) with spaces, one regex match per character: `str.translate` does that
# in C. Its period / comma rules split those off unless they sit between two digits, but which ones they
# split depends on the order of their matches where two periods / commas touch; text with no digit and
# no other period / comma beside one has all of them split, so they join the translation table. Other
# text runs the rules as written. The dash rule keeps its meaning with a lookbehind (no group reference).
_PAD_CLASS = {chr(code): f" {chr(code)} " for first, last in ("{~", "[`", " &", "(+", ":@", "//")
              for code in range(ord(first), ord(last) + 1)}
_PAD_13A = str.maketrans(_PAD_CLASS)
_PAD_13A_PERIOD_COMMA = str.maketrans({**_PAD_CLASS, ".": " . ", ",": " , "})
_PERIOD_COMMA_CONTEXT = re.compile(r"[0-9\.,][\.,]|[\.,][0-9]")
_RULES_13A = (
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # period and comma unless preceded by a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # period and comma unless followed by a digit
)
_DIGIT_DASH = re.compile(r"(?<=[0-9])-")  # dash preceded by a digit


def bleu_tokens(text: str) -> list[str]:
    """sacrebleu's 13a tokenisation as a token list (what `evaluate`'s bleu feeds compute_bleu)."""
    line = text.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    if _PERIOD_COMMA_CONTEXT.search(line):
        line = f" {line} ".translate(_PAD_13A)
        for pattern, replacement in _RULES_13A:
            line = pattern.sub(replacement, line)
    else:
        line = f" {line} ".translate(_PAD_13A_PERIOD_COMMA)
    if "-" in line:
        line = _DIGIT_DASH.sub(" - ", line)
    return line.split()


def _ngrams(tokens: list[str], order: int) -> Iterable[str | tuple[str, ...]]:
    """The `order`-grams of `tokens`: the tokens themselves for unigrams (cheaper keys than 1-tuples)."""
    return tokens if order == 1 else zip(*(tokens[i:] for i in range(order)), strict=False)


def clipped_matches(a: Counter, b: Counter) -> int:
    """`sum((a & b).values())`, iterated in C: the shared keys and their smaller count."""
    shared = a.keys() & b.keys()
    return sum(map(min, map(a.__getitem__, shared), map(b.__getitem__, shared)))


@lru_cache(maxsize=1 << 16)  # the bootstrap re-scores the same pairs in every replicate
def _bleu_pair_counts(prediction: str, reference: str) -> tuple[tuple[int, ...], tuple[int, ...], int, int]:
    """One pair's clipped n-gram matches and possible n-grams per order, and its two lengths.

    An order with no clipped match leaves every higher order without one: those are not counted.
    """
    pred_tokens = bleu_tokens(prediction)
    ref_tokens = bleu_tokens(reference)
    matches = [0] * BLEU_MAX_ORDER
    for order in range(1, BLEU_MAX_ORDER + 1):
        pred_counts = Counter(_ngrams(pred_tokens, order))
        ref_counts = Counter(_ngrams(ref_tokens, order))
        matches[order - 1] = clipped_matches(pred_counts, ref_counts)
        if not matches[order - 1]:
            break
    possible = tuple(max(len(pred_tokens) - order + 1, 0) for order in range(1, BLEU_MAX_ORDER + 1))
    return tuple(matches), possible, len(ref_tokens), len(pred_tokens)


def corpus_bleu(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    """Corpus BLEU (0-1), case-sensitive; None where the official code divides by zero.

    That happens when every prediction is empty (translation length 0) or every reference is empty.
    """
    matches = [0] * BLEU_MAX_ORDER
    possible = [0] * BLEU_MAX_ORDER
    reference_length = 0
    translation_length = 0
    for prediction, reference in zip(predictions, references, strict=True):
        pair_matches, pair_possible, ref_length, pred_length = _bleu_pair_counts(prediction, reference)
        reference_length += ref_length
        translation_length += pred_length
        for order in range(BLEU_MAX_ORDER):
            matches[order] += pair_matches[order]
            possible[order] += pair_possible[order]
    if reference_length == 0 or translation_length == 0:
        return None
    precisions = [float(m) / p if p > 0 else 0.0 for m, p in zip(matches, possible, strict=True)]
    geo_mean = 0.0  # no smoothing: any zero precision zeroes the score
    if min(precisions) > 0:
        geo_mean = math.exp(sum((1.0 / BLEU_MAX_ORDER) * math.log(p) for p in precisions))
    ratio = float(translation_length) / reference_length
    brevity_penalty = 1.0 if ratio > 1.0 else math.exp(1 - 1.0 / ratio)
    return geo_mean * brevity_penalty


# --- ROUGE ------------------------------------------------------------------------------------


def _fmeasure(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _score(hits: int, pred_total: int, target_total: int) -> tuple[float, float, float]:
    precision = hits / pred_total
    recall = hits / target_total
    return (precision, recall, _fmeasure(precision, recall))


def _rouge_n(target: list[str], prediction: list[str], n: int) -> tuple[float, float, float]:
    target_ngrams = Counter(_ngrams(target, n))
    pred_ngrams = Counter(_ngrams(prediction, n))
    hits = clipped_matches(target_ngrams, pred_ngrams)
    precision = hits / max(len(prediction) - n + 1, 1)
    recall = hits / max(len(target) - n + 1, 1)
    return (precision, recall, _fmeasure(precision, recall))


def _lcs_columns(ref: list[str], can: list[str]) -> list[int]:
    """Bit-parallel LCS (Hyyrö 2004): column j as a bit vector over `ref`.

    Bit i of column j is 0 exactly where the DP table steps up, so
    table[i][j] == i - popcount(column_j & (2**i - 1)): the same table rouge_score fills cell by
    cell, at a fraction of the cost.
    """
    masks: dict[str, int] = {}
    for i, token in enumerate(ref):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(ref)) - 1
    column = full
    columns = [column]
    for token in can:
        match = column & masks.get(token, 0)
        column = ((column + match) | (column - match)) & full
        columns.append(column)
    return columns


def _lcs_length(ref: list[str], can: list[str]) -> int:
    return len(ref) - _lcs_columns(ref, can)[-1].bit_count()


def _lcs_indices(ref: list[str], can: list[str]) -> list[int]:
    """Indices into `ref` of the LCS rouge_score's backtrack picks (same table, same tie-breaking)."""
    columns = _lcs_columns(ref, can)

    def table(i: int, j: int) -> int:
        return i - (columns[j] & ((1 << i) - 1)).bit_count()

    i, j = len(ref), len(can)
    picked: list[int] = []
    while i > 0 and j > 0:
        if ref[i - 1] == can[j - 1]:
            picked.append(i - 1)
            i -= 1
            j -= 1
        elif table(i, j - 1) > table(i - 1, j):
            j -= 1
        else:
            i -= 1
    picked.reverse()
    return picked


def _rouge_lsum(ref_sents: list[list[str]], can_sents: list[list[str]]) -> tuple[float, float, float]:
    """Summary-level LCS over sentences (rouge_score `_summary_level_lcs`)."""
    if not ref_sents or not can_sents:
        return (0.0, 0.0, 0.0)
    m = sum(map(len, ref_sents))
    n = sum(map(len, can_sents))
    if not n or not m:
        return (0.0, 0.0, 0.0)
    ref_counts: Counter = Counter()
    can_counts: Counter = Counter()
    for sent in ref_sents:
        ref_counts.update(sent)
    for sent in can_sents:
        can_counts.update(sent)
    hits = 0
    for ref in ref_sents:
        union = sorted(set().union(*(_lcs_indices(ref, can) for can in can_sents)))
        for token in (ref[i] for i in union):
            if can_counts[token] > 0 and ref_counts[token] > 0:
                hits += 1
                can_counts[token] -= 1
                ref_counts[token] -= 1
    return _score(hits, n, m)


_ROUGE_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def rouge_sentences(text: str) -> list[list[str]]:
    """rouge_score's tokens of each non-empty line (its ROUGE-Lsum sentences); together, the text's tokens.

    rouge_score lowercases, turns every run of characters outside [a-z0-9] into one space and keeps
    the non-empty pieces: a newline is one such character, so the lines' tokens add up to the text's.
    """
    return [_ROUGE_NON_ALNUM.sub(" ", line.lower()).split() for line in text.split("\n") if line]


@lru_cache(maxsize=1 << 16)  # the bootstrap re-scores the same pairs in every replicate
def rouge_scores(target: str, prediction: str) -> tuple[tuple[float, float, float], ...]:
    """(precision, recall, F) per ROUGE_TYPES for one pair, as rouge_score's RougeScorer computes them."""
    ref_sents = rouge_sentences(target)
    can_sents = rouge_sentences(prediction)
    target_tokens = [token for sent in ref_sents for token in sent]
    pred_tokens = [token for sent in can_sents for token in sent]
    if target_tokens and pred_tokens:
        rouge_l = _score(_lcs_length(target_tokens, pred_tokens), len(pred_tokens), len(target_tokens))
    else:
        rouge_l = (0.0, 0.0, 0.0)
    return (
        _rouge_n(target_tokens, pred_tokens, 1),
        _rouge_n(target_tokens, pred_tokens, 2),
        rouge_l,
        _rouge_lsum(ref_sents, can_sents),
    )


def bootstrap_rouge(scores: np.ndarray, seed: int = ROUGE_SEED) -> dict[str, float]:
    """Median bootstrap mean F-measure per ROUGE type, as rouge_score's BootstrapAggregator.

    `scores` has shape (n, len(ROUGE_TYPES), 3). The draws (one `randint` block per type, in type
    order) and the summation order match the aggregator's loop of `np.random.choice` calls.
    """
    n = scores.shape[0]
    if n == 0:
        raise ValueError("ROUGE needs at least one instance")
    rng = np.random.RandomState(seed)
    result = {}
    for k, rouge_type in enumerate(ROUGE_TYPES):
        idx = rng.randint(0, n, size=(ROUGE_RESAMPLES, n))
        # only F is reported; a running sum adds the draws one after another, as the aggregator's
        # np.mean over axis 0 does (a plain 2-D mean would sum pairwise and round differently)
        sample_means = np.cumsum(scores[:, k, 2][idx], axis=1)[:, -1] / n
        result[rouge_type] = float(np.percentile(sample_means, 50))
    return result


def corpus_rouge(
    predictions: Sequence[str], references: Sequence[str], seed: int = ROUGE_SEED
) -> dict[str, float] | None:
    """`evaluate`'s rouge: seeded bootstrap median F per type; None for no instances (official raises)."""
    if not predictions:
        return None
    scores = np.array([rouge_scores(ref, pred) for pred, ref in zip(predictions, references, strict=True)])
    return bootstrap_rouge(scores, seed)
