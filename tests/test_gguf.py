"""common.gguf: GGUF files as model paths, and the real English-first model of the reproductions.

The SmolLM2 tests read the local copy `python bench/smollm2.py` makes (work/models/smollm2, or
$SMOLLM2_DIR) and skip with one line when it is absent.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.gguf import GgufError, gguf_file, resolve_model_path, to_hf_folder

ROOT = Path(__file__).resolve().parent.parent
SMOL = Path(os.environ.get("SMOLLM2_DIR", ROOT / "work" / "models" / "smollm2"))
GGUF = SMOL / "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_hf_folders_and_hub_ids_pass_through(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "stray.gguf").write_bytes(b"")
    assert resolve_model_path(tmp_path) == tmp_path  # a config.json makes it a Hugging Face folder
    assert resolve_model_path("HuggingFaceTB/SmolLM2-135M") == Path("HuggingFaceTB/SmolLM2-135M")


def test_a_folder_with_two_gguf_files_is_ambiguous(tmp_path):
    for name in ("a.gguf", "b.gguf"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(GgufError, match="2 .gguf files"):
        gguf_file(tmp_path)


@pytest.mark.parametrize("content", [b"GGUF\0\0\0\0", b"GGUF" + b"\0" * 64, b"not a model at all"])
def test_a_broken_gguf_file_is_one_line_and_leaves_nothing(tmp_path, content):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "common.gguf", str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in proc.stderr and len(errors) == 1 and str(bad) in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gguf"]  # no half-written .hf folder


smollm2 = pytest.mark.skipif(not GGUF.is_file(), reason=f"no local SmolLM2 ({GGUF}); run `python bench/smollm2.py`")


@smollm2
def test_smollm2_loads_as_an_english_first_llama():
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = resolve_model_path(GGUF)  # converted by bench/smollm2.py; reused while the file's sha256 matches
    assert json.loads((folder / "converted_from.json").read_text())["file"] == GGUF.name
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert type(model).__name__ == "LlamaForCausalLM" and model.config.tie_word_embeddings
    assert sum(p.numel() for p in model.parameters()) == 134_515_008 and len(tokenizer) == 49_152

    def bits_per_char(text):
        ids = tokenizer(text, return_tensors="pt").input_ids
        with torch.no_grad():
            loss = model(ids, labels=ids).loss.item() * (ids.shape[1] - 1)
        return loss / math.log(2) / len(text), ids.shape[1] / len(text)

    en_bpc, _ = bits_per_char("The package manager installs software and resolves the dependencies between packages.")
    zh_bpc, zh_tokens_per_char = bits_per_char("软件包管理器会安装软件，并解决软件包之间的依赖关系。")
    # English-first: Chinese characters fall apart into byte tokens and cost far more bits each
    assert zh_tokens_per_char > 1.5 and en_bpc < 1.5 < zh_bpc


@smollm2
@pytest.mark.slow
def test_conversion_is_reproducible_and_atomic(tmp_path):
    out = to_hf_folder(GGUF, output=tmp_path / "hf")
    again = to_hf_folder(GGUF, output=tmp_path / "hf")  # reused: same sha256
    assert out == again and not (tmp_path / "hf.tmp").exists()
    reference = resolve_model_path(GGUF)
    assert (out / "model.safetensors").read_bytes() == (reference / "model.safetensors").read_bytes()
