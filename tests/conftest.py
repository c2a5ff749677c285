"""Shared fixtures: a tiny model built from the real SmolLM2 config and tokenizer (random weights)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciriff.base_model import build_base_model
from sciriff.params import ModelParams

REPO = Path(__file__).resolve().parents[1]
TINY_SHRINK = {"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 2,
               "num_key_value_heads": 1, "head_dim": 32}


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """models/base-shaped checkpoint: SmolLM2's tokenizer and chat template, 2 tiny layers."""
    out = tmp_path_factory.mktemp("tiny") / "base"
    build_base_model(ModelParams(shrink=TINY_SHRINK, dtype="float32"), out)
    return out
