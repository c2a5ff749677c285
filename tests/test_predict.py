from pathlib import Path

import pytest

from sciriff.io import read_jsonl, write_json, write_jsonl
from sciriff.params import PredictParams
from sciriff.predict import run_predict


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    rendered = tmp_path / "rendered"
    rows = [{"_instance_id": f"toy:test:{i}", "id": str(i), "input": "Say something" + "!" * i, "output": "[]",
             "metadata": {"task": "toy"}} for i in range(5)]
    write_jsonl(rendered / "toy" / "test.jsonl", rows)
    write_jsonl(rendered / "train_only" / "test.jsonl", rows)
    write_json(rendered / "manifest.json", {"toy": {"eval": True}, "train_only": {"eval": False}})
    return tmp_path


def test_predict_is_batched_resumable_and_sorted(tiny_model_dir: Path, workdir: Path) -> None:
    params = PredictParams(batch_size=2, max_new_tokens=4, dtype="float32")
    counts = run_predict("tiny", tiny_model_dir, params, workdir / "rendered", workdir / "preds")
    assert counts == {"toy": 5}, "only evaluation tasks are predicted"
    final = workdir / "preds" / "tiny" / "toy.jsonl"
    first = final.read_bytes()
    records = list(read_jsonl(final))
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)
    assert records[0]["decoding"] == {"do_sample": False, "num_beams": 1, "max_new_tokens": 4, "dtype": "float32"}
    assert {"task", "prediction", "reference", "input", "model", "backend", "prompt_sha256"} <= set(records[0])

    assert not list((workdir / ".cache" / "predict").glob("tiny-*/toy.jsonl")), "partials go once done"

    # An interrupted run left two finished predictions: the rerun generates only the other three.
    (partial_dir,) = (workdir / ".cache" / "predict").glob("tiny-*")
    # The kill came mid-write: a torn third line is dropped and that instance generated again.
    lines = first.decode().splitlines()
    (partial_dir / "toy.jsonl").write_text("".join(line + "\n" for line in lines[:2]) + lines[2][:25])
    final.unlink()
    generated: list[int] = []
    from sciriff.generation import TransformersGenerator

    original = TransformersGenerator.generate

    def counting(self, conversations, max_new_tokens):
        generated.append(len(conversations))
        return original(self, conversations, max_new_tokens)

    TransformersGenerator.generate = counting
    try:
        run_predict("tiny", tiny_model_dir, params, workdir / "rendered", workdir / "preds")
    finally:
        TransformersGenerator.generate = original
    assert generated == [3]
    assert final.read_bytes() == first


def test_openai_backend_against_transformers_serve(tiny_model_dir: Path, workdir: Path,
                                                   served: tuple[str, str]) -> None:
    from sciriff.params import ApiParams

    base_url, model = served
    local = PredictParams(batch_size=5, max_new_tokens=6, dtype="float32")
    remote = PredictParams(backend="openai", max_new_tokens=6, api=ApiParams(base_url=base_url, model=model))
    run_predict("local", tiny_model_dir, local, workdir / "rendered", workdir / "preds")
    run_predict("remote", tiny_model_dir, remote, workdir / "rendered", workdir / "preds")
    local_rows = list(read_jsonl(workdir / "preds" / "local" / "toy.jsonl"))
    remote_rows = list(read_jsonl(workdir / "preds" / "remote" / "toy.jsonl"))
    assert [r["id"] for r in remote_rows] == [r["id"] for r in local_rows]
    assert all(r["backend"] == "openai" and r["prediction"] for r in remote_rows)


def test_vllm_backend_settings_fake_vllm_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """vLLM needs a GPU: a stand-in module records what the backend asks of it."""
    import sys
    import types

    from sciriff.generation import VllmGenerator, make_generator

    calls: dict = {}

    class LLM:
        def __init__(self, **kwargs):
            calls["llm"] = kwargs

        def chat(self, conversations, sampling, use_tqdm=True):
            calls["chat"] = (conversations, sampling)
            return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text=f"out{i}")])
                    for i in range(len(conversations))]

    fake = types.SimpleNamespace(LLM=LLM, SamplingParams=lambda **kw: kw)
    monkeypatch.setitem(sys.modules, "vllm", fake)
    backend = make_generator("models/x", PredictParams(backend="vllm", tensor_parallel_size=4, dtype="bfloat16"))
    assert isinstance(backend, VllmGenerator)
    out = list(backend.generate([[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]], 32))
    assert out == [(0, "out0"), (1, "out1")]
    assert calls["llm"]["tensor_parallel_size"] == 4 and calls["llm"]["generation_config"] == "vllm"
    sampling = calls["chat"][1]
    assert sampling["temperature"] == 0.0 and sampling["max_tokens"] == 32 and sampling["top_p"] == 1.0


def test_every_backend_params_allow_has_a_generator() -> None:
    """params.yaml's allowed `predict.backend` names are exactly the generators sciriff.generation has."""
    import typing

    from sciriff.generation import GENERATORS

    assert set(typing.get_args(PredictParams.model_fields["backend"].annotation)) == set(GENERATORS)


def test_greedy_decode_equals_generate_and_ends_rows_early(tiny_model_dir: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from sciriff.generation import greedy_decode

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir, padding_side="left")
    # Large random weights: each next token depends on the whole context (the tiny checkpoint's small
    # ones make every row repeat one token, which would not notice a row reading another row's cache).
    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.initializer_range = 0.5
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    prompts = ["Name a noble gas.", "Hi", "What is the boiling point of water at sea level, in kelvin?", "2+2?"]
    encoded = tokenizer(prompts, return_tensors="pt", padding=True)

    def reference(eos: int) -> list[list[int]]:
        out = model.generate(**encoded, max_new_tokens=12, do_sample=False, eos_token_id=eos, pad_token_id=eos)
        rows = [ids.tolist() for ids in out[:, encoded["input_ids"].shape[1]:]]
        return [row[: row.index(eos) + 1] if eos in row else row for row in rows]

    with torch.inference_mode():
        free = reference(eos=-1 % model.config.vocab_size)  # an id the tiny model does not produce here
        # an end token one row produces mid-way and another never: that row leaves the batch, the others
        # must go on decoding from their own cache rows
        eos = next(token for row in free for k, token in enumerate(row)
                   if k > 0 and token not in row[:k] and any(token not in other for other in free))
        expected = reference(eos)
        got = dict(greedy_decode(model, encoded["input_ids"], encoded["attention_mask"], 12, {eos}))
    assert any(1 < len(row) < 12 for row in expected) and any(len(row) == 12 for row in expected)
    assert [got[i] for i in range(len(prompts))] == expected
