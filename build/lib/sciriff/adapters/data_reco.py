"""Dataset recommendation MCQs (HF shrutisingh/dataset_recommendation_mcq_sc and _mc, from DataFinder).

A record is a research query with its keyphrases, candidate dataset names and a short description
of each candidate (Papers with Code abstracts):
{"query", "keyphrase_query", "negative_cands": [name, ...], "abstracts": [{"dkey": name, "dval": text}],
 and "answer": name (single correct, _sc) or "positive_cands": [name, ...] (several correct, _mc)}.
An optional "id" names the record; without one the id is derived from the query text.

As in SciRIFF, the options are drawn per record: _sc shows the answer among three negatives, _mc
shows two to five positives among five to seven options. Unlike SciRIFF the draw is seeded by the
record id, so a record always gives the same options. Each option is shown with the first two
sentences of its description.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from typing import Any

from sciriff.adapters import adapter, require
from sciriff.io import stable_seed

SENTENCES_PER_OPTION = 2
SC_NEGATIVES = 3
MC_MAX_POSITIVES = 5
MC_OPTIONS = (5, 7)  # the number of options is drawn from this range (inclusive)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"'{key}' must be a non-empty string")
    return " ".join(value.split())


def _names(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"'{key}' must be a list of dataset names")
    names: list[str] = []
    for name in value:
        name = " ".join(name.split())
        if name not in names:
            names.append(name)
    return names


def _descriptions(abstracts: Any) -> dict[str, str]:
    """{dataset name: its first sentences} from the [{dkey, dval}] list."""
    if not isinstance(abstracts, list):
        raise ValueError("'abstracts' must be a list of {dkey, dval} objects")
    described: dict[str, str] = {}
    for entry in abstracts:
        if not isinstance(entry, dict) or not isinstance(entry.get("dkey"), str):
            raise ValueError("each 'abstracts' entry must be an object with string 'dkey' and 'dval'")
        text = " ".join(str(entry.get("dval") or "").split())
        if text:
            sentences = _SENTENCE_END.split(text)
            described[" ".join(entry["dkey"].split())] = " ".join(sentences[:SENTENCES_PER_OPTION])
    return described


def _common(record: dict[str, Any]) -> tuple[str, str, str, list[str], dict[str, str]]:
    query, keyphrases, negatives, abstracts = require(record, "query", "keyphrase_query", "negative_cands", "abstracts")
    query = _text(query, "query")
    keyphrases = _text(keyphrases, "keyphrase_query")
    record_id = record.get("id")
    if record_id is None:
        record_id = "datareco-" + hashlib.sha256(query.encode()).hexdigest()[:12]
    return str(record_id), query, keyphrases, _names(negatives, "negative_cands"), _descriptions(abstracts)


def _options(names: list[str], described: dict[str, str]) -> list[dict[str, str]]:
    if len(names) > len(string.ascii_uppercase):
        raise ValueError(f"{len(names)} options are more than there are letters")
    return [
        {"label": label, "name": name, "description": described[name]}
        for label, name in zip(string.ascii_uppercase, names, strict=False)
    ]


@adapter("data_reco_mcq_sc")
def data_reco_mcq_sc(record: dict[str, Any]) -> dict[str, Any]:
    record_id, query, keyphrases, negatives, described = _common(record)
    (answer,) = require(record, "answer")
    answer = _text(answer, "answer")
    if answer not in described:
        raise ValueError(f"the answer '{answer}' has no description in 'abstracts'")
    pool = [name for name in negatives if name in described and name != answer]
    if len(pool) < SC_NEGATIVES:
        raise ValueError(f"only {len(pool)} described negative candidates; {SC_NEGATIVES} are needed")
    rng = random.Random(stable_seed("data_reco_mcq_sc", record_id))
    names = rng.sample(pool, SC_NEGATIVES) + [answer]
    rng.shuffle(names)
    return {
        "id": record_id,
        "query": query,
        "keyphrases": keyphrases,
        "options": _options(names, described),
        "answer": answer,
    }


@adapter("data_reco_mcq_mc")
def data_reco_mcq_mc(record: dict[str, Any]) -> dict[str, Any]:
    record_id, query, keyphrases, negatives, described = _common(record)
    (positives,) = require(record, "positive_cands")
    positives = [name for name in _names(positives, "positive_cands") if name in described]
    if len(positives) < 2:
        raise ValueError(f"only {len(positives)} described positive candidates; at least 2 are needed")
    pool = [name for name in negatives if name in described and name not in positives]
    rng = random.Random(stable_seed("data_reco_mcq_mc", record_id))
    chosen = rng.sample(positives, rng.randint(2, min(len(positives), MC_MAX_POSITIVES)))
    total = rng.randint(*MC_OPTIONS)
    names = rng.sample(pool, min(max(total - len(chosen), 0), len(pool))) + chosen
    rng.shuffle(names)
    return {
        "id": record_id,
        "query": query,
        "keyphrases": keyphrases,
        "options": _options(names, described),
        "answers": [name for name in names if name in chosen],
    }
