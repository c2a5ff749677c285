"""The in-place key/value cache holds exactly what transformers' concatenating one holds."""

from __future__ import annotations

import copy

import torch
from transformers.cache_utils import DynamicLayer

from sciriff.kv_cache import PreallocatedLayer


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
