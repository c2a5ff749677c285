import json
from pathlib import Path

import pytest

from sciriff.cli import main
from sciriff.verify import compare_with_paper

REPO = Path(__file__).resolve().parents[1]
PAPER = json.loads((REPO / "data" / "reference" / "paper_table.json").read_text())
ROW = {k: v for k, v in PAPER["rows"]["SciTulu 7B"].items() if k != "note"}


def _metrics(tmp_path: Path, headline: dict) -> Path:
    path = tmp_path / "scitulu.json"
    path.write_text(json.dumps({"model": "scitulu", "headline": headline, "judge": "gpt-3.5-turbo"}))
    return path


def test_within_tolerance_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    shifted = {k: v + 0.9 for k, v in ROW.items()}
    assert main(["verify", "--metrics", str(_metrics(tmp_path, shifted)), "--tolerance", "1.0"]) == 0


def test_one_column_outside_tolerance_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(REPO)
    broken = {**ROW, "scierc_ner.f1": ROW["scierc_ner.f1"] - 3.0}
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "--metrics", str(_metrics(tmp_path, broken))])
    assert exit_info.value.code == 1
    assert "outside: scierc_ner.f1" in capsys.readouterr().out


def test_missing_columns_are_skipped_not_failed() -> None:
    rows = compare_with_paper({"bioasq_list_qa.f1": 37.0}, PAPER, "Llama 3 8B Instruct", 1.0)
    by_column = {r["column"]: r for r in rows}
    assert by_column["bioasq_list_qa.f1"]["ok"] is False  # 37.0 vs 43.3
    assert by_column["mup_single_document_summarization.lm_judge_reference"]["ok"] is None


def test_unknown_row_names_the_available_ones() -> None:
    with pytest.raises(ValueError, match="available:"):
        compare_with_paper({}, PAPER, "GPT-5", 1.0)
