"""GENIA term corpus, in the DyGIE++ JSON-lines release that SciRIFF processes: one abstract per record.

Record shape: {"doc_key": str, "sentences": [[token, ...], ...], "ner": [[[start, end, type], ...]
per sentence], "clusters": [[[start, end], ...], ...] (optional coreference clusters, unused)},
token indices counted over the whole document, end inclusive. Entity types are the five GENIA
term classes kept by DyGIE++: "DNA", "RNA", "cell_line", "cell_type", "protein"; nested mentions
(a protein inside a DNA name) are allowed. Output types: DNA, RNA, CellLine, CellType, Protein.
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require
from sciriff.adapters.bio_tagged import detokenize

ENTITY_TYPES = {"DNA": "DNA", "RNA": "RNA", "cell_line": "CellLine", "cell_type": "CellType", "protein": "Protein"}


@adapter("genia")
def genia(record: dict[str, Any]) -> dict[str, Any]:
    doc_key, sentences, ner = require(record, "doc_key", "sentences", "ner")
    if not isinstance(sentences, list) or not sentences or not all(isinstance(s, list) and s for s in sentences):
        raise ValueError("'sentences' must be a non-empty list of non-empty token lists")
    if not isinstance(ner, list) or len(ner) != len(sentences):
        raise ValueError("'ner' must hold one list per sentence")
    tokens = [token for sentence in sentences for token in sentence]
    if not all(isinstance(token, str) and token for token in tokens):
        raise ValueError("tokens must be non-empty strings")

    located: list[tuple[int, int, str, str]] = []
    for sentence_ner in ner:
        for item in sentence_ner:
            if not (isinstance(item, list) and len(item) == 3):
                raise ValueError(f"entity {item!r} is not [start, end, type]")
            start, end, etype = item
            if etype not in ENTITY_TYPES:
                raise ValueError(f"entity type '{etype}' is not one of {sorted(ENTITY_TYPES)}")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end < len(tokens)):
                raise ValueError(f"entity span [{start}, {end}] is outside the {len(tokens)}-token document")
            located.append((start, end, ENTITY_TYPES[etype], detokenize(tokens[start : end + 1])))

    entities: dict[str, list[str]] = {name: [] for name in ENTITY_TYPES.values()}
    for _, _, etype, mention in sorted(located):
        if mention not in entities[etype]:
            entities[etype].append(mention)
    return {"id": str(doc_key), "abstract": detokenize(tokens), "entities": entities}
