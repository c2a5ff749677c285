"""ChemSum (HF griffin/ChemSum; Adams et al. 2023): write a chemistry paper's abstract from its body.

One record is one open-access chemistry article, as the dataset card publishes it: `uuid`, `title`,
`article_source` (the journal or portal), `abstract` (the reference summary), and the body as two
parallel strings, `headers` and `sections`, whose items are joined with the delimiter "<!>" (one
header per section; a header may be empty). A section may hold several paragraphs separated by
newlines; they are kept as paragraphs.
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require

DELIMITER = "<!>"


def _text(value: Any, key: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a string")
    value = " ".join(value.split())
    if not value and not allow_empty:
        raise ValueError(f"'{key}' is empty")
    return value


@adapter("chemsum")
def chemsum(record: dict[str, Any]) -> dict[str, Any]:
    uuid, title, abstract, headers, sections = require(record, "uuid", "title", "abstract", "headers", "sections")
    if not isinstance(headers, str) or not isinstance(sections, str):
        raise ValueError("'headers' and 'sections' must be strings joined with '<!>'")
    header_list, section_list = headers.split(DELIMITER), sections.split(DELIMITER)
    if len(header_list) != len(section_list):
        raise ValueError(f"{len(header_list)} headers but {len(section_list)} sections")
    body = []
    for header, section in zip(header_list, section_list, strict=True):
        paragraphs = [" ".join(line.split()) for line in section.split("\n") if line.strip()]
        if paragraphs:
            body.append({"header": " ".join(header.split()), "paragraphs": paragraphs})
    if not body:
        raise ValueError("the article has no non-empty section")
    return {
        "id": _text(str(uuid), "uuid"),
        "title": _text(title, "title", allow_empty=True),
        "sections": body,
        "abstract": _text(abstract, "abstract"),
    }
