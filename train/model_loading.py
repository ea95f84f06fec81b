"""Model loading: a local Hugging Face causal LM or one built from a config, resized to the tokenizer in
effect with new embedding rows initialised as the mean of their base sub-token rows (ChatFlow)."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import torch
from transformers import CONFIG_MAPPING, AutoConfig, AutoModelForCausalLM, PretrainedConfig, PreTrainedModel

from common.recipe import suggest
from train.recipe_sections import ModelSection, TrainError

log = logging.getLogger("train")

FLASH_IMPLEMENTATIONS = {"flash_attention_2", "flash_attention_3"}


def pick_attn_implementation(requested: str) -> str:
    """`auto` means flash-attention 2 on CUDA when the package is installed, else PyTorch SDPA."""
    if requested != "auto":
        if requested in FLASH_IMPLEMENTATIONS and not torch.cuda.is_available():
            raise TrainError(f"model.attn_implementation {requested} needs a CUDA GPU; use sdpa on CPU")
        return requested
    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def check_model_section(section: ModelSection) -> None:
    """Raise TrainError when the model cannot be built, checked without weights or data (`--check`)."""
    if section.path is not None:
        model_folder(section)
    else:
        build_config(section, vocab_size=None)


def model_folder(section: ModelSection) -> Path:
    """`model.path`, refused unless it is a Hugging Face model folder."""
    if not (Path(section.path) / "config.json").is_file():
        raise TrainError(f"model.path {section.path}: not a Hugging Face model folder (no config.json)")
    return Path(section.path)


def build_config(section: ModelSection, *, vocab_size: int | None) -> PretrainedConfig:
    """The Hugging Face config `model.config` describes; a key the model type does not know is an error
    (transformers would keep it as an unused attribute, so a typo would silently train another model)."""
    config = dict(section.config)
    model_type = config.pop("model_type")
    if vocab_size is not None:
        config.setdefault("vocab_size", vocab_size)
    if model_type not in CONFIG_MAPPING:
        raise TrainError(f"model.config.model_type: unknown model type {model_type!r}"
                         f"{suggest(str(model_type), CONFIG_MAPPING.keys())}")
    try:
        hf_config = AutoConfig.for_model(model_type, **config)
    except (ValueError, TypeError) as err:
        raise TrainError(f"model.config: {err}") from None
    # Keys the config class consumes (aliases such as rope_theta included) do not survive as attributes.
    known = CONFIG_MAPPING[model_type]().to_dict()
    for key in config:
        if key not in known and key in hf_config.to_dict():
            raise TrainError(f"model.config.{key}: not a {model_type} config key{suggest(key, known)}")
    return hf_config


def load_model(section: ModelSection, *, vocab_size: int, attn_implementation: str) -> PreTrainedModel:
    """Load `model.path` or build `model.config` (fp32 weights; autocast decides compute precision)."""
    kwargs = {"attn_implementation": attn_implementation, "dtype": torch.float32}
    if section.path is not None:
        return AutoModelForCausalLM.from_pretrained(
            model_folder(section), trust_remote_code=section.trust_remote_code, **kwargs
        )
    hf_config = build_config(section, vocab_size=vocab_size)
    return AutoModelForCausalLM.from_config(hf_config, trust_remote_code=section.trust_remote_code, **kwargs)


def read_vocab_extension(tokenizer_dir: Path | None) -> dict | None:
    """`vocab_extension.json` of the tokenizer in effect (written by curation.vocab), if there is one."""
    if tokenizer_dir is None:
        return None
    path = Path(tokenizer_dir) / "vocab_extension.json"
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        for item in record["added"]:
            item["id"], item["base_ids"] = int(item["id"]), [int(i) for i in item["base_ids"]]
        return record
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise TrainError(f"{path}: not a valid vocabulary extension record ({err!r}); see docs/formats.md") from None


@torch.no_grad()
def resize_embeddings(model: PreTrainedModel, vocab_size: int, extension: dict | None) -> int:
    """Grow input embeddings and LM head to `vocab_size`; each added token's row (input and untied
    output) becomes the mean of its base sub-token rows. Returns how many rows were mean-initialised."""
    old = model.get_input_embeddings().weight.shape[0]
    if vocab_size < old:
        raise TrainError(f"the tokens use a vocabulary of {vocab_size} but the model has {old} rows: wrong tokenizer?")
    if vocab_size == old:
        return 0
    model.resize_token_embeddings(vocab_size, mean_resizing=True)
    if extension is None:
        log.warning("vocabulary grew from %d to %d without vocab_extension.json: new rows use the mean embedding", old, vocab_size)
        return 0
    matrices = [model.get_input_embeddings().weight]
    head = model.get_output_embeddings()
    if head is not None and head.weight.data_ptr() != matrices[0].data_ptr():
        matrices.append(head.weight)
    done = 0
    for item in extension["added"]:
        token_id, base_ids = item["id"], item["base_ids"]
        if not old <= token_id < vocab_size:
            continue  # already in the base vocabulary
        if not base_ids or max(base_ids) >= old or min(base_ids) < 0:
            raise TrainError(f"vocab_extension.json: token {item.get('token')!r} (id {token_id}) has base_ids {base_ids} outside [0, {old})")
        index = torch.tensor(base_ids, device=matrices[0].device)
        for weight in matrices:
            weight[token_id] = weight[index].float().mean(0).to(weight.dtype)
        done += 1
    return done


def embedding_parameter_names(model: PreTrainedModel) -> set[str]:
    """Names of the input embedding and LM head parameters (trained alone in the embedding-only phase)."""
    wanted = {id(model.get_input_embeddings().weight)}
    head = model.get_output_embeddings()
    if head is not None:
        wanted.add(id(head.weight))
    return {name for name, p in model.named_parameters() if id(p) in wanted}


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups: matrices decay, vectors (norms, biases) do not (nanoGPT convention)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
