"""Trainer data path: the manifest split over ranks and micro-steps, labels, and per-document attention."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import AutoConfig, AutoModelForCausalLM

from common.tokens import PackedSequence
from tests.test_train_fixtures import TINY_LLAMA, ListManifest, random_manifest, write_shards
from train.manifest_batches import IGNORE_INDEX, ShardSet, StepBatches, labels_for, rank_slices
from train.recipe_sections import TrainError


@given(world=st.integers(1, 8), micro=st.integers(1, 8), accum=st.integers(1, 8))
def test_every_row_of_a_step_goes_to_exactly_one_rank_and_micro_step(world, micro, accum):
    global_batch = world * micro * accum
    used = [i for rank in range(world) for s in rank_slices(global_batch, world, rank, micro)
            for i in range(global_batch)[s]]
    assert sorted(used) == list(range(global_batch))
    assert all(len(rank_slices(global_batch, world, r, micro)) == accum for r in range(world))


@pytest.fixture(scope="module")
def split_shards(tmp_path_factory):
    """48 + 48 sequences: enough distinct rows for a global batch of up to 4 ranks x 4 x 3."""
    folder = tmp_path_factory.mktemp("split")
    write_shards(folder, {"zh": 48, "chat": 48}, seq_len=8)
    return ShardSet(folder, ["zh", "chat"])


@settings(max_examples=40, deadline=None)
@given(world=st.integers(1, 4), micro=st.integers(1, 4), accum=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_ranks_and_micro_steps_together_read_each_row_of_every_step_once(split_shards, world, micro, accum, seed):
    """What every rank's StepBatches hands to the model (micro-batch rows and the tokens read for them) is,
    over all ranks and micro-steps, exactly the manifest's rows of that step: each once, none missing."""
    global_batch = world * micro * accum
    rng = np.random.default_rng(seed)
    every_row = [(source, index) for source in ("zh", "chat") for index in range(48)]
    steps = [[every_row[i] for i in rng.permutation(len(every_row))[:global_batch]] for _ in range(3)]
    manifest = ListManifest(steps, ["zh", "chat"])
    per_rank = [StepBatches(manifest, split_shards, world_size=world, rank=rank, micro_batch_size=micro,
                            flatten=False, prefetch=False) for rank in range(world)]
    for step in range(3):
        used, tokens = [], {}
        for batches in per_rank:
            micro_batches, _ = batches.get(step)
            assert len(micro_batches) == accum and all(len(mb.rows) == micro for mb in micro_batches)
            for mb in micro_batches:
                used += mb.rows
                tokens.update({row: mb.input_ids[k] for k, row in enumerate(mb.rows)})
        assert sorted(used) == sorted(steps[step])
        for (source, index), ids in tokens.items():
            assert torch.equal(ids, torch.from_numpy(split_shards.shards[source][index].input_ids))


def test_a_batch_that_does_not_divide_is_refused_with_the_fix():
    with pytest.raises(TrainError, match="micro_batch_size 3"):
        rank_slices(8, 2, 0, 3)


def test_labels_follow_the_loss_mask_and_never_cross_a_document_start():
    ids = np.arange(10, 20)
    mask = np.array([1, 1, 1, 1, 0, 0, 1, 1, 1, 0], dtype=np.uint8)
    labels = labels_for(ids, mask, np.array([0, 6], dtype=np.int32))
    # position t predicts t+1; t=3 -> 4 is masked, t=5 -> 6 starts a new document, t=9 has no next token
    assert labels.tolist() == [11, 12, 13, -100, -100, -100, 17, 18, -100, -100]


def test_step_batches_read_exactly_the_manifest_rows(tmp_path):
    sizes = {"zh": 12, "chat": 6}
    write_shards(tmp_path, sizes, seq_len=16)
    manifest = random_manifest(sizes, num_steps=3, global_batch=4)
    shards = ShardSet(tmp_path, manifest.sources)
    batches = StepBatches(manifest, shards, world_size=1, rank=0, micro_batch_size=2, flatten=False)
    for step in range(3):
        micro_batches, _ = batches.get(step)
        assert [r for mb in micro_batches for r in mb.rows] == manifest.steps[step]
        source, index = manifest.steps[step][0]
        expected = shards.shards[source][index].input_ids
        assert torch.equal(micro_batches[0].input_ids[0], torch.from_numpy(expected))
        assert micro_batches[0].n_loss_tokens == int((micro_batches[0].labels != IGNORE_INDEX).sum())
    batches.close()


def test_flattened_batches_carry_document_boundaries_for_varlen_attention(tmp_path):
    write_shards(tmp_path, {"zh": 4}, seq_len=16)
    shards = ShardSet(tmp_path, ["zh"])
    flat = shards.micro_batch(["zh", "zh"], [0, 1], flatten=True)
    assert flat.input_ids.shape == (1, 32)
    cu = flat.flash_kwargs["cu_seq_lens_q"].tolist()
    starts = [int(s) for k in (0, 1) for s in shards.shards["zh"][k].doc_starts + 16 * k]
    assert cu == [*starts, 32]
    assert (flat.position_ids[0, cu[:-1]] == 0).all()


def _tiny_model(attn: str):
    torch.manual_seed(0)
    config = AutoConfig.for_model(**{**TINY_LLAMA, "vocab_size": 64})
    return AutoModelForCausalLM.from_config(config, attn_implementation=attn).eval()


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_a_tokens_logits_do_not_depend_on_the_other_documents_in_its_sequence(attn):
    model = _tiny_model(attn)
    doc_starts = np.array([0, 7, 15], dtype=np.int32)  # three documents packed in 24 tokens
    rng = np.random.default_rng(0)
    ids = rng.integers(2, 64, size=24)
    positions = PackedSequence(ids, np.ones(24, np.uint8), doc_starts).position_ids()
    other = ids.copy()
    other[:7] = rng.integers(2, 64, size=7)  # change the first and the last document
    other[15:] = rng.integers(2, 64, size=9)

    def logits(tokens):
        with torch.no_grad():
            return model(input_ids=torch.tensor(np.array([tokens])), position_ids=torch.tensor(np.array([positions])),
                         use_cache=False).logits[0]

    a, b = logits(ids), logits(other)
    torch.testing.assert_close(a[7:15], b[7:15], rtol=0, atol=1e-6)  # the middle document is untouched
    assert not torch.allclose(a[15:], b[15:])
    # and the middle document reads exactly as it would alone
    with torch.no_grad():
        alone = model(input_ids=torch.tensor(ids[None, 7:15]), use_cache=False).logits[0]
    torch.testing.assert_close(a[7:15], alone, rtol=0, atol=1e-5)
