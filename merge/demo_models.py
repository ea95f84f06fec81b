"""`python -m merge.demo_models OUTDIR`: tiny LLaMA base, CT and SFT models for the merge demo and tests.

`base/` is a random tiny LLaMA with a byte-level BPE tokenizer trained here on a few English lines; `ct/`
continues it with a larger perturbation (the language model: its task vector dominates) and an extended
vocabulary of Chinese characters whose new embedding rows are initialised as the mean of the old ones;
`sft/` is the base plus a smaller perturbation (the task model). No network, a few seconds on CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "Model merging combines the weights of several fine-tuned models without training.",
    "Answer the question: what is the capital of France? Paris.",
    "Instructions: summarise the following paragraph in one sentence.",
]
CHINESE_CHARACTERS = list(
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后"
)


def build_tokenizer(extra_tokens: list[str] | None = None):
    """A byte-level BPE tokenizer (about 300 ids) trained on `ENGLISH`, optionally with added tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<s>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(ENGLISH * 4, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    if extra_tokens:
        fast.add_tokens(extra_tokens)
    return fast


def build_demo_models(
    outdir: Path,
    *,
    seed: int = 0,
    hidden_size: int = 64,
    layers: int = 2,
    ct_scale: float = 0.05,
    sft_scale: float = 0.01,
    tie_word_embeddings: bool = False,
    extend_vocab: bool = True,
) -> dict[str, Path]:
    """Write base/, ct/, sft/ under `outdir` and return their paths."""
    from transformers import LlamaConfig, LlamaForCausalLM

    outdir = Path(outdir)
    torch.manual_seed(seed)
    base_tokenizer = build_tokenizer()
    ct_tokenizer = build_tokenizer(CHINESE_CHARACTERS if extend_vocab else None)
    config = LlamaConfig(
        vocab_size=len(base_tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=tie_word_embeddings,
        bos_token_id=base_tokenizer.bos_token_id,
        eos_token_id=base_tokenizer.eos_token_id,
    )
    base = LlamaForCausalLM(config).eval()
    paths = {}
    # The base is sharded to exercise the index path of the reader.
    paths["base"] = _save(base, base_tokenizer, outdir / "base", max_shard_size="40KB")

    generator = torch.Generator().manual_seed(seed + 1)
    ct = _perturbed(base, ct_scale, generator)
    if extend_vocab:
        old = ct.get_input_embeddings().weight.shape[0]
        ct.resize_token_embeddings(len(ct_tokenizer), mean_resizing=False)
        with torch.no_grad():
            for matrix in {
                id(m): m for m in (ct.get_input_embeddings().weight, ct.get_output_embeddings().weight)
            }.values():
                matrix[old:] = matrix[:old].mean(0) + 0.02 * torch.randn(
                    matrix[old:].shape, generator=generator
                )
    paths["ct"] = _save(ct, ct_tokenizer, outdir / "ct")
    sft = _perturbed(base, sft_scale, generator)
    paths["sft"] = _save(sft, base_tokenizer, outdir / "sft")
    return paths


def _perturbed(model, scale: float, generator: torch.Generator):
    import copy

    clone = copy.deepcopy(model)
    with torch.no_grad():
        for parameter in clone.parameters():
            parameter.add_(scale * torch.randn(parameter.shape, generator=generator))
    return clone


def _save(model, tokenizer, folder: Path, max_shard_size: str = "50MB") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, max_shard_size=max_shard_size)
    tokenizer.save_pretrained(folder)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m merge.demo_models", description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name, path in build_demo_models(Path(args.outdir), seed=args.seed).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
