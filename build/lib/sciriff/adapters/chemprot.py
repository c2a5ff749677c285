"""ChemProt (BioCreative VI track 5), processed to one JSON record per PubMed abstract.

Record shape (the release's abstracts / entities / relations tables joined on the PMID):
{"pmid": str, "title": str, "abstract": str,
 "entities": [{"id": "T1", "type": "CHEMICAL" | "GENE-Y" | "GENE-N", "start": int, "end": int,
               "text": str}, ...],
 "relations": [{"group": "CPR:4", "label": "INHIBITOR", "arg1": "T1", "arg2": "T7"}, ...]}
Offsets index into the document `title + " " + abstract` (end exclusive). `arg1` is always the
chemical and `arg2` the gene or protein. Each relation keeps the release's fine-grained label,
checked against its CPR group. The task reads the groups CPR:3 to CPR:9 (up- and down-regulation,
agonism, antagonism, modulation, cofactor, substrate/product). CPR:1 (part-of), CPR:2 (unspecified
regulation) and CPR:10 (explicitly "not") are left out, so an abstract holding only those answers [].
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require

ENTITY_TYPES = ("CHEMICAL", "GENE-Y", "GENE-N")
GROUP_LABELS: dict[str, tuple[str, ...]] = {
    "CPR:1": ("PART-OF",),
    "CPR:2": ("REGULATOR", "DIRECT-REGULATOR", "INDIRECT-REGULATOR"),
    "CPR:3": ("UPREGULATOR", "ACTIVATOR", "INDIRECT-UPREGULATOR"),
    "CPR:4": ("DOWNREGULATOR", "INHIBITOR", "INDIRECT-DOWNREGULATOR"),
    "CPR:5": ("AGONIST", "AGONIST-ACTIVATOR", "AGONIST-INHIBITOR"),
    "CPR:6": ("ANTAGONIST",),
    "CPR:7": ("MODULATOR", "MODULATOR-ACTIVATOR", "MODULATOR-INHIBITOR"),
    "CPR:8": ("COFACTOR",),
    "CPR:9": ("SUBSTRATE", "PRODUCT-OF", "SUBSTRATE_PRODUCT-OF"),
    "CPR:10": ("NOT",),
}
TASK_GROUPS = ("CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:7", "CPR:8", "CPR:9")


@adapter("chemprot")
def chemprot(record: dict[str, Any]) -> dict[str, Any]:
    pmid, title, abstract, entities, relations = require(record, "pmid", "title", "abstract", "entities", "relations")
    if not isinstance(abstract, str) or not abstract.strip():
        raise ValueError("'abstract' must be a non-empty string")
    if not isinstance(title, str):
        raise ValueError("'title' must be a string")
    if not isinstance(entities, list) or not isinstance(relations, list):
        raise ValueError("'entities' and 'relations' must be lists")
    document = f"{title} {abstract}"

    by_id: dict[str, dict[str, Any]] = {}
    for entity in entities:
        entity_id, etype, start, end, text = require(entity, "id", "type", "start", "end", "text")
        if etype not in ENTITY_TYPES:
            raise ValueError(f"entity {entity_id}: type '{etype}' is not one of {ENTITY_TYPES}")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(document)):
            raise ValueError(f"entity {entity_id}: bad offsets [{start}, {end}]")
        if document[start:end] != text:
            raise ValueError(f"entity {entity_id}: text {text!r} does not match the document at [{start}, {end}]")
        if entity_id in by_id:
            raise ValueError(f"entity id '{entity_id}' is used twice")
        by_id[entity_id] = entity

    keyed: list[tuple[int, int, list[str]]] = []
    for relation in relations:
        group, label, arg1, arg2 = require(relation, "group", "label", "arg1", "arg2")
        if label not in GROUP_LABELS.get(group, ()):
            raise ValueError(f"relation label '{label}' does not belong to group '{group}'")
        if arg1 not in by_id or arg2 not in by_id:
            raise ValueError(f"relation {label} ({arg1}, {arg2}) names an unknown entity")
        if by_id[arg1]["type"] != "CHEMICAL" or by_id[arg2]["type"] == "CHEMICAL":
            raise ValueError(f"relation {label} ({arg1}, {arg2}) must link a chemical to a gene")
        if group not in TASK_GROUPS:
            continue
        keyed.append((by_id[arg1]["start"], by_id[arg2]["start"], [by_id[arg1]["text"], label, by_id[arg2]["text"]]))

    triples: list[list[str]] = []  # in reading order of the chemical, then of the gene
    for _, _, triple in sorted(keyed, key=lambda item: item[:2]):
        if triple not in triples:
            triples.append(triple)

    return {"id": str(pmid), "title": title.strip(), "abstract": abstract.strip(), "relations": triples}
