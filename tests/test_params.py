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


def _missing_keys(model: type, written: dict, prefix: str = "") -> list[str]:
    from pydantic import BaseModel

    missing = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        if name not in written:
            missing.append(key)
            continue
        nested = [t for t in getattr(field.annotation, "__args__", (field.annotation,))
                  if isinstance(t, type) and issubclass(t, BaseModel)]
        if nested and isinstance(written[name], dict):
            missing += _missing_keys(nested[0], written[name], f"{key}.")
    return missing


def test_every_key_a_stage_reads_is_written_in_params_yaml() -> None:
    """DVC sees only params.yaml: a value coming from a code default would change no hash when it changes."""
    import yaml

    from sciriff.params import Params

    written = yaml.safe_load((REPO / "params.yaml").read_text())
    assert _missing_keys(Params, written) == []


def test_a_boolean_is_not_a_count(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("mix:\n  per_task: true\n")
    with pytest.raises(ParamsError, match="mix.per_task"):
        load_params(path)
