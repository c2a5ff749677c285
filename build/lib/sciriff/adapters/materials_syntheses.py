"""Annotated materials syntheses (Mysore et al. 2019, olivettigroup/annotated-materials-syntheses).

The BRAT release, converted with BigBio's BRAT parser to the `bigbio_kb` shape (as SciRIFF does):
{"document_id", "passages": [{"id", "type", "text": [str], "offsets": [[start, end]]}],
 "entities": [{"id", "type", "text": [str], "offsets": [[start, end]], "normalized": []}, ...],
 "events": [{"id", "type": "Operation", "trigger": {"text": [str], "offsets": [[start, end]]},
             "arguments": [{"role", "ref_id"}, ...]}, ...],
 "relations": [...], "coreferences": [...]}
Each event is one synthesis operation (its trigger a verb such as "calcined" or "stirred"); its
arguments point at Material entities under one of five roles. Operation triggers are not entities.
Conditions and amounts (Number, Condition-Unit, Amount-Unit, ...) are entities linked by relations,
not event arguments. Events with no argument are dropped; events come out in reading order with
their [argument text, role] pairs in reading order.
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require
from sciriff.adapters.bigbio import bigbio_kb

ROLES = ("Recipe_Precursor", "Recipe_Target", "Participant_Material", "Solvent_Material", "Atmospheric_Material")


@adapter("materials_syntheses")
def materials_syntheses(record: dict[str, Any]) -> dict[str, Any]:
    base = bigbio_kb(record)  # checks passages and entity offsets against the document text
    document = base["text"]
    (events,) = require(record, "events")
    if not isinstance(events, list):
        raise ValueError("'events' must be a list")
    entities = {entity["id"]: entity for entity in record["entities"]}

    located = []
    for event in events:
        what = f"event {event.get('id', '?')}"
        trigger, arguments = require(event, "trigger", "arguments")
        texts, offsets = require(trigger, "text", "offsets")
        if not texts or len(texts) != len(offsets):
            raise ValueError(f"{what}: trigger 'text' and 'offsets' must be non-empty and of equal length")
        for text, (start, end) in zip(texts, offsets, strict=True):
            if not text.strip() or document[start:end] != text:
                raise ValueError(f"{what}: trigger {text!r} does not match the document at [{start}, {end}]")
        pairs = []
        for argument in arguments:
            role, ref_id = require(argument, "role", "ref_id")
            if role not in ROLES:
                raise ValueError(f"{what}: role '{role}' is not one of {ROLES}")
            if ref_id not in entities:
                raise ValueError(f"{what}: argument '{ref_id}' is not an entity")
            entity = entities[ref_id]
            pairs.append((entity["offsets"][0][0], " ".join(entity["text"]), role))
        kept: list[list[str]] = []
        for _, text, role in sorted(pairs):
            if [text, role] not in kept:
                kept.append([text, role])
        if kept:
            located.append((offsets[0][0], {"trigger": " ".join(texts), "arguments": kept}))

    return {
        "id": base["id"],
        "paragraph": base["text"],
        "events": [event for _, event in sorted(located, key=lambda item: item[0])],
    }
