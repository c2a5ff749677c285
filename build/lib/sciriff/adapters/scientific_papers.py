"""Scientific Papers (HF scientific_papers, subsets arxiv / pubmed; Cohan et al. 2018).

One record is one paper, as the HF loader publishes it: `article` (body paragraphs joined with
"\\n"), `abstract` (abstract sentences joined with "\\n", the <S> tags already removed) and
`section_names` (section titles joined with "\\n"). The records carry no id, so the instance id is a
short SHA-256 digest of the abstract (stable across runs and machines).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sciriff.adapters import adapter, require


@adapter("scientific_papers")
def scientific_papers(record: dict[str, Any]) -> dict[str, Any]:
    article, abstract, section_names = require(record, "article", "abstract", "section_names")
    if not all(isinstance(v, str) for v in (article, abstract, section_names)):
        raise ValueError("'article', 'abstract' and 'section_names' must be strings")
    paragraphs = [" ".join(p.split()) for p in article.split("\n") if p.strip()]
    summary = " ".join(abstract.split())
    if not paragraphs:
        raise ValueError("'article' is empty")
    if not summary:
        raise ValueError("'abstract' is empty")
    return {
        "id": hashlib.sha256(summary.encode("utf-8")).hexdigest()[:16],
        "paragraphs": paragraphs,
        "section_names": [s.strip() for s in section_names.split("\n") if s.strip()],
        "abstract": summary,
    }
