"""BigBio sources: the `bigbio_kb` schema (BioRED, NCBI Disease, AnatEM NER) and PubMedQA's source schema.

BigBio KB entity offsets index into the document text formed by joining every passage's text
fragments with a single space; the adapter rebuilds that text and checks each passage and entity
against it, so a record whose annotations drift from its text is rejected rather than rendered.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sciriff.adapters import adapter, require

# Source entity types -> the type names the NER templates ask for. Types not listed here
# (other BigBio corpora) keep their source name.
ENTITY_TYPES: dict[str, str] = {
    # BioRED
    "GeneOrGeneProduct": "Gene",
    "ChemicalEntity": "Chemical",
    "DiseaseOrPhenotypicFeature": "Disease",
    "SequenceVariant": "Variant",
    "OrganismTaxon": "Species",
    "CellLine": "CellLine",
    # NCBI Disease: every mention class is a disease mention
    "SpecificDisease": "Disease",
    "DiseaseClass": "Disease",
    "CompositeMention": "Disease",
    "Modifier": "Disease",
    # AnatEM: the single coarse type and its 12 granularity-based types
    "Anatomy": "AnatomicalEntity",
    **{
        name: "AnatomicalEntity"
        for name in (
            "Organism_subdivision",
            "Anatomical_system",
            "Organ",
            "Multi-tissue_structure",
            "Tissue",
            "Cell",
            "Developing_anatomical_structure",
            "Cellular_component",
            "Organism_substance",
            "Immaterial_anatomical_entity",
            "Pathological_formation",
            "Cancer",
        )
    },
}

PUBMEDQA_DECISIONS = ("yes", "no", "maybe")


def _span(item: dict[str, Any], what: str) -> tuple[list[str], list[list[int]]]:
    """The (text fragments, offsets) of a passage or entity, checked for matching shapes."""
    texts, offsets = item.get("text"), item.get("offsets")
    if (
        not isinstance(texts, list)
        or not isinstance(offsets, list)
        or not texts
        or len(texts) != len(offsets)
    ):
        raise ValueError(f"{what}: 'text' and 'offsets' must be non-empty lists of the same length")
    for pair in offsets:
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(x, int) for x in pair)
            and 0 <= pair[0] <= pair[1]
        ):
            raise ValueError(f"{what}: bad offsets {offsets}")
    if not all(isinstance(t, str) for t in texts):
        raise ValueError(f"{what}: 'text' must hold strings")
    return texts, offsets


@adapter("bigbio_kb")
def bigbio_kb(record: dict[str, Any]) -> dict[str, Any]:
    """One BigBio KB document -> its passages and, per entity type, unique mentions in reading order."""
    document_id, passages, entities = require(record, "document_id", "passages", "entities")
    if not isinstance(passages, list) or not passages:
        raise ValueError("'passages' must be a non-empty list")
    spans = [_span(passage, f"passage {i}") for i, passage in enumerate(passages)]
    document = " ".join(text for texts, _ in spans for text in texts)
    for i, (texts, offsets) in enumerate(spans):
        for text, (start, end) in zip(texts, offsets, strict=True):
            if document[start:end] != text:
                raise ValueError(f"passage {i}: text does not match the document at [{start}, {end}]")

    if not isinstance(entities, list):
        raise ValueError("'entities' must be a list")
    located = []
    for entity in entities:
        if not isinstance(entity, dict):
            raise ValueError(f"entity {entity!r} is not an object")
        what = f"entity {entity.get('id', '?')}"
        if not isinstance(entity.get("type"), str) or not entity["type"]:
            raise ValueError(f"{what}: missing 'type'")
        texts, offsets = _span(entity, what)
        for text, (start, end) in zip(texts, offsets, strict=True):
            if not text.strip() or document[start:end] != text:
                raise ValueError(f"{what}: text {text!r} does not match the document at [{start}, {end}]")
        entity_type = ENTITY_TYPES.get(entity["type"], entity["type"])
        located.append((min(start for start, _ in offsets), entity_type, " ".join(texts)))

    mentions: dict[str, list[str]] = {}
    for _, entity_type, mention in sorted(located, key=lambda item: item[0]):
        seen = mentions.setdefault(entity_type, [])
        if mention not in seen:
            seen.append(mention)
    return {
        "id": str(document_id),
        "passages": [" ".join(texts) for texts, _ in spans],
        "text": document,
        "entities": mentions,
    }


@adapter("pubmed_qa_source")
def pubmed_qa_source(record: dict[str, Any]) -> dict[str, Any]:
    """One PubMedQA (PQA-L) row in BigBio's source schema -> question, labelled contexts and decision.

    The source schema carries no id (the PMID is only the example key), so the id is the PMID when a
    `pubid` field is present and otherwise a content hash of the question and contexts.
    """
    question, contexts, labels, decision = require(record, "QUESTION", "CONTEXTS", "LABELS", "final_decision")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("'QUESTION' must be a non-empty string")
    if (
        not isinstance(contexts, list)
        or not all(isinstance(c, str) and c.strip() for c in contexts)
        or not contexts
    ):
        raise ValueError("'CONTEXTS' must be a non-empty list of strings")
    if not isinstance(labels, list) or len(labels) != len(contexts):
        raise ValueError(f"'LABELS' must have one label per context ({len(contexts)})")
    if decision not in PUBMEDQA_DECISIONS:
        raise ValueError(f"final_decision {decision!r} is not one of {PUBMEDQA_DECISIONS}")
    if record.get("pubid") is not None:
        record_id = f"pubmedqa-{record['pubid']}"
    else:
        digest = hashlib.sha256("\x1f".join([question, *contexts]).encode()).hexdigest()
        record_id = f"pubmedqa-{digest[:16]}"
    return {
        "id": record_id,
        "question": question.strip(),
        "contexts": [
            {"label": str(label or "").strip(), "text": text.strip()}
            for label, text in zip(labels, contexts, strict=True)
        ],
        "long_answer": record.get("LONG_ANSWER") or "",
        "decision": decision,
    }
