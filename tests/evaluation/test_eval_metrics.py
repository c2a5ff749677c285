"""P/R/F1, SQuAD token F1, BLEU and ROUGE against hand-computed values and the reference libraries."""

from __future__ import annotations

import math
import random
import string

import numpy as np
import pytest
from rouge_score import rouge_scorer, scoring

from sciriff.evaluation.metrics import (
    ROUGE_SEED,
    ROUGE_TYPES,
    _lcs_indices,
    bleu_tokens,
    bootstrap_rouge,
    corpus_bleu,
    corpus_rouge,
    prf,
    rouge_scores,
    token_f1,
)


def test_prf() -> None:
    assert prf(2, 4, 5) == pytest.approx({"p": 0.5, "r": 0.4, "f1": 4 / 9})
    assert prf(0, 0, 0) == {"p": 0.0, "r": 0.0, "f1": 0.0}
    assert prf(0, 3, 2) == {"p": 0.0, "r": 0.0, "f1": 0.0}


def test_token_f1() -> None:
    # "the", "a" and punctuation vanish: [cat, sat] vs [cat, sat, down] -> P 1, R 2/3
    assert token_f1("The cat sat.", "a cat sat down") == pytest.approx(0.8)
    assert token_f1("cat cat", "cat") == pytest.approx(2 * 0.5 * 1 / 1.5)  # multiset overlap
    assert token_f1("", "") == 0.0
    assert token_f1("the", "an") == 0.0  # both empty after normalisation
    assert token_f1("significantly increased", "significantly decreased") == 0.5


def test_bleu_hand_computed() -> None:
    # 1-4 gram precisions 5/6, 3/5, 2/4, 1/3; equal lengths so no brevity penalty: (1/12) ** (1/4)
    assert corpus_bleu(["the cat sat on the mat"], ["the cat sat on a mat"]) == pytest.approx(12 ** -0.25)
    # all precisions 1, c=4 < r=6: brevity penalty exp(1 - 6/4)
    assert corpus_bleu(["the cat sat on"], ["the cat sat on the mat"]) == pytest.approx(math.exp(-0.5))
    assert corpus_bleu(["a b c"], ["a b c"]) == 0.0  # no 4-gram at all: precision 0, no smoothing
    assert corpus_bleu(["The cat sat on the mat"], ["the cat sat on the mat"]) < 1.0  # case-sensitive


def test_bleu_is_corpus_level() -> None:
    preds = ["the cat sat on the mat", "a b c"]
    refs = ["the cat sat on a mat", "a b c"]
    # counts are pooled: 1-grams 8/9, 2-grams 5/7, 3-grams 3/5, 4-grams 1/3
    expected = math.exp(sum(math.log(p) for p in (8 / 9, 5 / 7, 3 / 5, 1 / 3)) / 4)
    assert corpus_bleu(preds, refs) == pytest.approx(expected)


def test_bleu_13a_tokenisation() -> None:
    assert bleu_tokens('{"value":"0.5"}') == ["{", '"', "value", '"', ":", '"', "0.5", '"', "}"]
    assert corpus_bleu(['{"value":"0.5", "type":"Other"}'], ['{"value": "0.5", "type": "Other"}']) == 1.0
    lines = ['{"value": "0.5", "type": "Other"}', '{"value": "12", "type": "Other"}',
             '{"value": "7", "type": "Other"}']
    assert corpus_bleu(["\n".join(reversed(lines))], ["\n".join(lines)]) == pytest.approx(1.0)


def test_bleu_undefined_when_every_prediction_is_empty() -> None:
    assert corpus_bleu(["", " "], ["a b c d", "e f g h"]) is None
    assert corpus_bleu([], []) is None


def test_bleu_matches_sacrebleu_without_smoothing() -> None:
    import sacrebleu

    rnd = random.Random(3)
    vocab = ["the", "model", ",", ".", "(", ")", "results", "3.5", "1,000", "show", "-", "improve", "We"]
    refs = [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(5, 30))) for _ in range(20)]
    preds = [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(5, 30))) for _ in range(20)]
    expected = sacrebleu.corpus_bleu(preds, [refs], smooth_method="none", tokenize="13a").score / 100
    assert corpus_bleu(preds, refs) == pytest.approx(expected, abs=1e-12)


def test_bleu_tokens_equal_sacrebleu_13a_on_random_text() -> None:
    """The fast 13a tokenisation splits exactly as sacrebleu's Tokenizer13a, on text full of its edge cases."""
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    reference = Tokenizer13a()
    rnd = random.Random(11)
    pieces = [*string.printable, "3.5", "1,000", "a.b", "x-1", "7-", "-\n", "<skipped>", "&quot;", "&amp;", "&lt;",
              "&gt;", "é", "Ü", "\u00a0", "\u2009", "—", "...", ",,", "{}", "[]"]
    prose = ["word", "Word", " ", " ", ".", ",", "-", " 7", "7 ", "(", '"', "\n", "-\n", ":"]  # both code paths
    for alphabet in (pieces, prose):
        for _ in range(3000):
            text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
            assert bleu_tokens(text) == reference(text).split(), repr(text)


def test_rouge_scores_hand_computed() -> None:
    r1, r2, rl, rlsum = rouge_scores("the cat sat", "the cat")
    assert r1 == pytest.approx((1.0, 2 / 3, 0.8))
    assert r2 == pytest.approx((1.0, 0.5, 2 / 3))
    assert rl == pytest.approx((1.0, 2 / 3, 0.8))
    assert rlsum == pytest.approx((1.0, 2 / 3, 0.8))
    assert rouge_scores("anything", "") == ((0.0, 0.0, 0.0),) * 4


TEXTS = [
    ("The model beats the baseline.\nIt uses fewer parameters.", "The baseline is beaten.\nFewer parameters are used."),
    ("a b c a b\nc a", "a c b\nb a c a\n\nb"),
    ("Ünïcode wörds vanish; 42 stays", "42 stays here"),
    ("one two three", "three two one"),
    ("", "not empty"),
]


@pytest.mark.parametrize(("target", "prediction"), TEXTS)
def test_rouge_scores_equal_rouge_score(target: str, prediction: str) -> None:
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=False)
    expected = scorer.score(target, prediction)
    got = rouge_scores(target, prediction)
    for k, rouge_type in enumerate(ROUGE_TYPES):
        assert got[k] == tuple(expected[rouge_type])


def test_rouge_scores_equal_rouge_score_on_random_text() -> None:
    """The fast tokenisation (lines tokenised once) and n-gram counts give rouge_score's numbers exactly."""
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=False)
    rnd = random.Random(5)
    pieces = ["the", "The", "cat", "CAT", "sat", "42", " ", " ", "\n", "\n\n", ".", ",", "-", "Ünï", "é", "Σ", "İ",
              "K", "\t", "\u00a0", "a_b", "x1"]
    for _ in range(500):
        target, prediction = ("".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30))) for _ in range(2))
        expected = scorer.score(target, prediction)
        assert rouge_scores(target, prediction) == tuple(tuple(expected[t]) for t in ROUGE_TYPES), (target, prediction)


def test_lcs_indices_equal_rouge_score_backtrack() -> None:
    rnd = random.Random(0)
    for _ in range(300):
        a = [rnd.choice("abcd") for _ in range(rnd.randint(0, 25))]
        b = [rnd.choice("abcde") for _ in range(rnd.randint(0, 25))]
        assert _lcs_indices(a, b) == rouge_scorer.lcs_ind(a, b)


def test_bootstrap_equals_rouge_score_aggregator_seeded() -> None:
    rnd = random.Random(1)
    vocab = ["model", "summary", "results", "show", "the", "paper", "method", "data"]
    preds = [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(3, 20))) for _ in range(37)]
    refs = [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(3, 20))) for _ in range(37)]
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=False)
    aggregator = scoring.BootstrapAggregator()
    for pred, ref in zip(preds, refs, strict=True):
        aggregator.add_scores(scorer.score(ref, pred))
    state = np.random.get_state()
    np.random.seed(ROUGE_SEED)  # what evaluate's compute does with its stored seed
    try:
        expected = {k: v.mid.fmeasure for k, v in aggregator.aggregate().items()}
    finally:
        np.random.set_state(state)
    assert corpus_rouge(preds, refs) == expected
    assert corpus_rouge(preds, refs, seed=7) != expected  # the seed matters, as upstream


def test_bootstrap_of_one_instance_is_its_score() -> None:
    scores = np.array([rouge_scores("the cat sat", "the cat")])
    assert bootstrap_rouge(scores) == pytest.approx({"rouge1": 0.8, "rouge2": 2 / 3, "rougeL": 0.8,
                                                     "rougeLsum": 0.8})
    assert corpus_rouge([], []) is None
