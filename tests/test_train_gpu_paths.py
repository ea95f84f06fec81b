"""CPU-side checks for issue 18 (GPU validation): the version ranges accept the GPU machine's packages, the
packed-sequence attention paths (sdpa with per-document masks, flex attention, eager) agree, documents do not
see each other, the FSDP path of train/run.py on CPU, and bench/gpu_check.py in its CPU mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.gpu_check import pyproject_rejects

REPO = Path(__file__).resolve().parents[1]
# What the H200 device machine has installed (issue 18); the rest travels as wheels (bench/gpu_wheels.sh).
GPU_MACHINE = {"torch": "2.11.0", "transformers": "5.17.0", "accelerate": "1.15.0"}


def test_pyproject_ranges_accept_the_gpu_machine_versions():
    assert pyproject_rejects(GPU_MACHINE) == {}
    assert pyproject_rejects({"torch": "2.3.1", "transformers": "4.57.0"}) == {
        "torch": "<2.14,>=2.4", "transformers": "<6,>=5.0"}  # the check itself can fail


# ---------------------------------------------------------------------------------------------------
# attention paths on packed sequences

DOCS = [[10, 20, 18], [30, 18]]  # document lengths of two packed rows of 48 tokens


def _model(impl: str):
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model("llama", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                  vocab_size=128)
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config, attn_implementation=impl, dtype=torch.float32).eval()


def _packed(seed: int = 0):
    ids = torch.randint(2, 128, (2, 48), generator=torch.Generator().manual_seed(seed))
    positions = torch.stack([torch.cat([torch.arange(n) for n in row]) for row in DOCS])
    return ids, positions


@pytest.mark.slow  # ~35 s: flex attention compiles its CPU kernels
def test_sdpa_flex_and_eager_agree_on_packed_documents_and_keep_them_apart():
    ids, positions = _packed()
    changed = ids.clone()
    changed[0, :10] = torch.randint(2, 128, (10,), generator=torch.Generator().manual_seed(9))  # document 1 of row 0
    logits, loss = {}, {}
    for impl in ("eager", "sdpa", "flex_attention"):
        model = _model(impl)
        with torch.no_grad():
            out = model(input_ids=ids, position_ids=positions, labels=ids, use_cache=False)
            logits[impl], loss[impl] = out.logits, out.loss
            other = model(input_ids=changed, position_ids=positions, use_cache=False).logits
            alone = model(input_ids=ids[:1, 10:30], position_ids=positions[:1, 10:30], use_cache=False).logits
        # documents 2 and 3 of row 0, and row 1, do not see document 1: same logits whatever it holds
        torch.testing.assert_close(other[0, 10:], logits[impl][0, 10:], rtol=0, atol=1e-5)
        torch.testing.assert_close(other[1], logits[impl][1], rtol=0, atol=0)
        assert (other[0, :10] - logits[impl][0, :10]).abs().max() > 1e-3  # the change does reach document 1
        torch.testing.assert_close(alone[0], logits[impl][0, 10:30], rtol=0, atol=1e-5)  # = run alone
    # fp32 on CPU: the three kernels differ only by summation order (observed max 1.5e-7)
    for impl in ("sdpa", "flex_attention"):
        torch.testing.assert_close(logits[impl], logits["eager"], rtol=0, atol=1e-5)
        torch.testing.assert_close(loss[impl], loss["eager"], rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------------------------------
# FSDP on CPU

FSDP_ENV = {"ACCELERATE_USE_FSDP": "true", "FSDP_VERSION": "2", "FSDP_AUTO_WRAP_POLICY": "TRANSFORMER_BASED_WRAP",
            "FSDP_TRANSFORMER_CLS_TO_WRAP": "LlamaDecoderLayer", "FSDP_STATE_DICT_TYPE": "SHARDED_STATE_DICT"}
PROBE = """
import sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from tests.test_train_fixtures import random_manifest, tiny_recipe
from train.run import setup
state = setup(tiny_recipe(Path({root!r}), micro_batch_size=2), manifest=random_manifest({{"zh": 8}}, num_steps=2,
              global_batch=4))
Path({root!r}, f"type-{{state.rank}}.txt").write_text(f"{{state.accelerator.distributed_type.name}} {{type(state.model).__name__}}")
"""


@pytest.mark.slow  # ~15 s: two interpreters import torch and transformers
def test_fsdp_config_on_cpu_falls_back_to_ddp(tmp_path):
    """accelerate (1.10-1.16) switches to FSDP only for accelerator devices (MULTI_GPU/NPU/XPU/...): with
    ACCELERATE_USE_FSDP on CPU processes it stays MULTI_CPU and wraps the model in DDP, without an error.
    So the FSDP path of train/run.py cannot run on CPU; its loss normalisation is the DDP path's
    (tests/test_train_distributed.py) and FSDP itself waits for a multi-GPU machine (docs/train.md)."""
    from tests.test_train_fixtures import write_shards

    write_shards(tmp_path / "work" / "tokens", {"zh": 8})
    script = tmp_path / "probe.py"
    script.write_text(PROBE.format(repo=str(REPO), root=str(tmp_path)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "true", **FSDP_ENV}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", "29547", str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for rank in (0, 1):  # a file per rank: the two processes' stdout lines can interleave
        assert (tmp_path / f"type-{rank}.txt").read_text() == "MULTI_CPU DistributedDataParallel"
    assert "an FSDP config was given but accelerate runs MULTI_CPU (FSDP needs GPUs)" in done.stderr  # said, not silent


# ---------------------------------------------------------------------------------------------------
# the GPU check script, CPU mode


@pytest.mark.slow  # ~100 s on the shared 2-core machine: seven child processes, flex attention and compile
def test_gpu_check_cpu_mode_runs_every_part(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_check.py"), "--cpu", "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=600)
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert done.returncode == 0, (tmp_path / "gpu_check.log").read_text()[-4000:]
    assert (tmp_path / "gpu_check.log").stat().st_size > 0
    parts = report["parts"]
    assert set(parts) == {"env", "matmul", "train_sdpa", "train_flex", "train_compile", "resume", "merge"}
    assert parts["env"]["result"]["pyproject_rejects"] == {}
    assert "backward on CPU" in parts["train_flex"]["result"]["skipped_on_cpu"]  # torch has no CPU flex backward
    for name in ("train_sdpa", "train_compile"):
        result = parts[name]["result"]
        assert result["tokens_per_s"] > 0 and result["flops_per_token"] > 0 and 0 <= result["data_wait_frac"] < 1
    # eager and compiled train the same model on the same data: same losses up to kernel rounding
    assert abs(parts["train_sdpa"]["result"]["final_loss"] - parts["train_compile"]["result"]["final_loss"]) < 1e-3
    resume = parts["resume"]["result"]
    assert resume["resumed_vs_straight"]["losses_identical"]  # fp32 on CPU: bit-exact, as in test_train_loop
    assert resume["resumed_vs_straight"]["max_weight_diff"] == 0
