from pathlib import Path

import pytest

from sciriff.params import ParamsError, load_params

REPO = Path(__file__).resolve().parents[1]


def test_repository_params_load() -> None:
    params = load_params(REPO / "params.yaml")
    assert params.mix.per_task >= 1
    assert set(params.models) >= {"baseline", "scitulu"}


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("mix:\n  per_task: -1\n", "mix.per_task"),
        ("predict:\n  backend: tgi\n", "predict.backend"),
        ("mix:\n  per_tsk: 5\n", "mix.per_tsk"),
        ("render:\n  context_window: 4096\nfinetune:\n  max_length: 1024\n", "finetune.max_length (1024)"),
        ("score:\n  reference_model: gpt5\n", "score.reference_model 'gpt5'"),
    ],
)
def test_invalid_value_names_the_key(tmp_path: Path, edit: str, expected: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(edit)
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "nope.yaml")
