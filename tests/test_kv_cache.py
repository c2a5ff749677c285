"""The in-place key/value cache holds exactly what transformers' concatenating one holds."""

from __future__ import annotations

import copy

import torch
from transformers import DynamicCache, LlamaConfig, Qwen2Config
from transformers.cache_utils import DynamicLayer

from sciriff.kv_cache import LeftPaddedBatch, PreallocatedLayer


def test_preallocated_layer_matches_dynamic_layer_through_growth_and_row_drops() -> None:
    torch.manual_seed(0)
    ours, reference = PreallocatedLayer(room=3), DynamicLayer()
    keep = torch.tensor([0, 2])
    for new in (5, 1, 1, 4, 1, 2):  # the prompt, single tokens, then more than the room: the buffer grows
        states = [torch.randn(3 if ours.length < 7 else 2, 2, new, 4) for _ in range(2)]
        got, expected = ours.update(*states), reference.update(*states)
        for a, b in zip(got, expected, strict=True):
            assert torch.equal(a, b)
        assert ours.get_seq_length() == reference.get_seq_length()
        if ours.length == 7:  # a row ends: both keep rows 0 and 2
            ours.batch_select_indices(keep)
            reference.batch_select_indices(keep)
    snapshot = copy.deepcopy(ours)  # the local judge keeps the prompt cache this way
    ours.update(torch.ones(2, 2, 1, 4), torch.ones(2, 2, 1, 4))
    assert snapshot.get_seq_length() == ours.get_seq_length() - 1
    assert torch.equal(snapshot.keys, reference.keys) and torch.equal(snapshot.values, reference.values)


def _prompt_caches(config, lengths: list[int]) -> list[DynamicCache]:  # noqa: ANN001
    torch.manual_seed(1)
    caches = []
    for length in lengths:
        cache = DynamicCache(config=config)
        for index in range(config.num_hidden_layers):
            cache.update(torch.randn(1, 2, length, 4), torch.randn(1, 2, length, 4), index)
        caches.append(cache)
    return caches


def _padded(caches: list[DynamicCache], index: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch the prompts make when each is left-padded with zeros to `width` and stacked."""
    def pad(t: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(t, (0, 0, width - t.shape[-2], 0))

    return (torch.cat([pad(c.layers[index].keys) for c in caches]),
            torch.cat([pad(c.layers[index].values) for c in caches]))


def test_left_padded_batch_right_aligns_each_prompt_and_appends_in_place() -> None:
    config = LlamaConfig(num_hidden_layers=2, hidden_size=8, num_attention_heads=2, num_key_value_heads=2)
    caches = _prompt_caches(config, [5, 2, 3])
    batch = LeftPaddedBatch(config, batch=3, width=5, room=4)
    for row, cache in enumerate(caches):
        batch.add(row, cache)
    cache = batch.finish()
    assert cache.get_seq_length() == 5
    step = torch.ones(3, 2, 1, 4)
    for index, layer in enumerate(cache.layers):
        keys, values = _padded(caches, index, 5)
        assert torch.equal(layer.keys, keys) and torch.equal(layer.values, values)
        data = layer._keys.data_ptr()
        cache.update(step, step, index)
        assert layer._keys.data_ptr() == data  # the answer's first token went into the room
        assert torch.equal(layer.keys, torch.cat([keys, step], dim=-2))


def test_left_padded_batch_hands_other_layer_kinds_the_padded_batch() -> None:
    config = Qwen2Config(num_hidden_layers=2, hidden_size=8, num_attention_heads=2, num_key_value_heads=2,
                         use_sliding_window=True, sliding_window=64, max_window_layers=0)
    caches = _prompt_caches(config, [3, 4])
    batch = LeftPaddedBatch(config, batch=2, width=4, room=4)
    for row, cache in enumerate(caches):
        batch.add(row, cache)
    cache, reference = batch.finish(), DynamicCache(config=config)
    for index in range(2):
        reference.update(*_padded(caches, index, 4), index)
    assert [type(layer) for layer in cache.layers] == [type(layer) for layer in reference.layers]
    for ours, theirs in zip(cache.layers, reference.layers, strict=True):
        assert torch.equal(ours.keys, theirs.keys) and torch.equal(ours.values, theirs.values)
