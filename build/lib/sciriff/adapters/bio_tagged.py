"""Token-level BIO-tagged NER sources (HF token-classification datasets), and a detokenizer.

CRAFT-Chem (HF ghadeermobasher/CRAFT-Chem; chemical entities of biological interest, ChEBI, in the
CRAFT full-text corpus). Record shape (HF features):
{"id": str, "tokens": [str, ...], "ner_tags": [int, ...]} with one tag per token and the
ClassLabel names 0 = "O", 1 = "B-CHEBI", 2 = "I-CHEBI". An "I-" tag that does not continue a
mention starts a new one (IOB1 reading). The hub's ids are per-split row numbers, so the instance
id adds a short hash of the tokens to keep ids distinct across splits.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sciriff.adapters import adapter, require

CRAFT_CHEM_TAGS = ("O", "B-CHEBI", "I-CHEBI")

_NO_SPACE_BEFORE = {".", ",", ";", ":", "?", "!", ")", "]", "}", "%", "'s", "n't", "-", "/"}
_NO_SPACE_AFTER = {"(", "[", "{", "-", "/"}


def detokenize(tokens: list[str]) -> str:
    """Join tokens into readable text. Spacing depends only on adjacent token pairs, so the
    detokenized text of any token span is a substring of the detokenized sentence."""
    out: list[str] = []
    for i, token in enumerate(tokens):
        if i and token not in _NO_SPACE_BEFORE and tokens[i - 1] not in _NO_SPACE_AFTER:
            out.append(" ")
        out.append(token)
    return "".join(out)


def bio_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """(start, end exclusive, type) of each mention in a sequence of BIO tag names."""
    spans: list[tuple[int, int, str]] = []
    current: list[Any] | None = None
    for i, tag in enumerate(tags):
        prefix, _, etype = tag.partition("-")
        if prefix == "I" and current is not None and current[2] == etype and current[1] == i:
            current[1] = i + 1
            continue
        if current is not None:
            spans.append((current[0], current[1], current[2]))
            current = None
        if prefix in ("B", "I"):
            current = [i, i + 1, etype]
        elif tag != "O":
            raise ValueError(f"tag '{tag}' is not a BIO tag")
    if current is not None:
        spans.append((current[0], current[1], current[2]))
    return spans


@adapter("craft_chem")
def craft_chem(record: dict[str, Any]) -> dict[str, Any]:
    record_id, tokens, ner_tags = require(record, "id", "tokens", "ner_tags")
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) and t for t in tokens):
        raise ValueError("'tokens' must be a non-empty list of non-empty strings")
    if not isinstance(ner_tags, list) or len(ner_tags) != len(tokens):
        raise ValueError(f"'ner_tags' must hold one tag per token ({len(tokens)})")
    bad = [tag for tag in ner_tags if not isinstance(tag, int) or not 0 <= tag < len(CRAFT_CHEM_TAGS)]
    if bad:
        raise ValueError(f"ner_tags {bad[:3]} are not ids of {CRAFT_CHEM_TAGS}")
    mentions: list[str] = []
    for start, end, _ in bio_spans([CRAFT_CHEM_TAGS[tag] for tag in ner_tags]):
        mention = detokenize(tokens[start:end])
        if mention not in mentions:
            mentions.append(mention)
    digest = hashlib.sha256("\x1f".join(tokens).encode()).hexdigest()[:8]
    return {"id": f"{record_id}-{digest}", "sentence": detokenize(tokens), "entities": mentions}
