"""SciERC (Luan et al. 2018), processed JSON-lines release: one abstract per record.

Record shape: {"doc_key", "sentences": [[token, ...], ...], "ner": [[[start, end, type], ...] per
sentence], "relations": [[[s1, e1, s2, e2, type], ...] per sentence], "clusters": [...]} with
document-level token indices, end inclusive. Both scierc_ner and scierc_re read this adapter.
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require

ENTITY_TYPES = ("Task", "Method", "Metric", "Material", "OtherScientificTerm", "Generic")
RELATION_TYPES = ("USED-FOR", "FEATURE-OF", "HYPONYM-OF", "PART-OF", "COMPARE", "CONJUNCTION", "EVALUATE-FOR")

# Penn-Treebank bracket escapes found in the tokenized release.
_PTB = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
_NO_SPACE_BEFORE = {".", ",", ";", ":", "?", "!", ")", "]", "}", "%", "'s", "n't"}
_NO_SPACE_AFTER = {"(", "[", "{"}


def detokenize(tokens: list[str]) -> str:
    """Join tokens into readable text. The spacing rule looks only at adjacent token pairs, so the
    detokenized text of any token span is a substring of the detokenized document."""
    words = [_PTB.get(token, token) for token in tokens]
    out: list[str] = []
    for i, word in enumerate(words):
        if i and word not in _NO_SPACE_BEFORE and words[i - 1] not in _NO_SPACE_AFTER:
            out.append(" ")
        out.append(word)
    return "".join(out)


def _span(value: Any, n_tokens: int, what: str) -> tuple[int, int]:
    start, end = value
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end < n_tokens):
        raise ValueError(f"{what} span [{start}, {end}] is outside the {n_tokens}-token document")
    return start, end


@adapter("scierc")
def scierc(record: dict[str, Any]) -> dict[str, Any]:
    doc_key, sentences, ner, relations = require(record, "doc_key", "sentences", "ner", "relations")
    if not sentences or not all(isinstance(s, list) and s for s in sentences):
        raise ValueError("'sentences' must be a non-empty list of non-empty token lists")
    if len(ner) != len(sentences) or len(relations) != len(sentences):
        raise ValueError("'ner' and 'relations' must have one list per sentence")
    tokens = [token for sentence in sentences for token in sentence]

    def mention(start: int, end: int) -> str:
        return detokenize(tokens[start : end + 1])

    span_type: dict[tuple[int, int], str] = {}
    entities: dict[str, list[str]] = {etype: [] for etype in ENTITY_TYPES}
    for sentence_ner in ner:
        for *bounds, etype in sentence_ner:
            if etype not in ENTITY_TYPES:
                raise ValueError(f"entity type '{etype}' is not one of {ENTITY_TYPES}")
            span = _span(bounds, len(tokens), "entity")
            span_type[span] = etype
            text = mention(*span)
            if text not in entities[etype]:
                entities[etype].append(text)

    triples: list[list[str]] = []
    for sentence_relations in relations:
        for s1, e1, s2, e2, rtype in sentence_relations:
            if rtype not in RELATION_TYPES:
                raise ValueError(f"relation type '{rtype}' is not one of {RELATION_TYPES}")
            head, tail = _span((s1, e1), len(tokens), "relation"), _span((s2, e2), len(tokens), "relation")
            if head not in span_type or tail not in span_type:
                raise ValueError(
                    f"relation {rtype} [{s1}, {e1}, {s2}, {e2}] joins spans that are not entities"
                )
            triple = [mention(*head), rtype, mention(*tail)]
            if triple not in triples:
                triples.append(triple)

    return {"id": str(doc_key), "abstract": detokenize(tokens), "entities": entities, "relations": triples}
