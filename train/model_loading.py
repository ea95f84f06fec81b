"""Model loading: a local Hugging Face causal LM or one built from a config, resized to the tokenizer in
effect with new embedding rows initialised as the mean of their base sub-token rows (ChatFlow)."""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
from pathlib import Path

import torch
from transformers import CONFIG_MAPPING, AutoConfig, AutoModelForCausalLM, PretrainedConfig, PreTrainedModel

from common.gguf import GgufError, resolve_model_path
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
    """`model.path`, refused unless it is a Hugging Face model folder or a GGUF file (converted once into
    one beside it, common.gguf)."""
    try:
        folder = resolve_model_path(section.path)
    except GgufError as err:
        raise TrainError(f"model.path: {err}") from None
    if not (folder / "config.json").is_file():
        raise TrainError(f"model.path {section.path}: not a Hugging Face model folder (no config.json) or a .gguf file")
    return folder


class ConfigKeyError(TrainError):
    """A `model.config` key the model type's config class does not know (`key` names it, for the YAML line)."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def config_keys(config_class: type[PretrainedConfig]) -> set[str]:
    """The keys a config class accepts: its `__init__` parameters, PretrainedConfig's common attributes
    (`output_attentions`, `tie_word_embeddings`, ...) and its attribute aliases (`attribute_map`)."""
    keys = set(inspect.signature(config_class.__init__).parameters) | set(
        inspect.signature(PretrainedConfig.__init__).parameters)
    keys |= set(PretrainedConfig().to_dict()) | set(getattr(config_class, "attribute_map", {}) or {})
    keys |= set(config_class().to_dict())
    return keys - {"self", "kwargs", "args", "model_type", "transformers_version"}


def build_config(section: ModelSection, *, vocab_size: int | None) -> PretrainedConfig:
    """The Hugging Face config `model.config` describes. A key the model type's config class does not know
    is a ConfigKeyError naming it and the closest known key: transformers would keep it as an unused
    attribute (`hiden_size: 64` would silently build a 170M model from the defaults and save the typo)."""
    config = dict(section.config)
    model_type = config.pop("model_type")
    if vocab_size is not None:
        config.setdefault("vocab_size", vocab_size)
    if model_type not in CONFIG_MAPPING:
        raise ConfigKeyError("model_type", f"model.config.model_type: unknown model type {model_type!r}"
                             f"{suggest(str(model_type), CONFIG_MAPPING.keys())}")
    config_class = CONFIG_MAPPING[model_type]
    known = config_keys(config_class)
    try:
        hf_config = AutoConfig.for_model(model_type, **config)
    except (ValueError, TypeError) as err:
        raise TrainError(f"model.config: {err}") from None
    kept = hf_config.to_dict()
    for key in config:
        # a key outside the signature that the class consumed (rope_theta becomes rope_parameters) is known too
        if key not in known and key in kept:
            raise ConfigKeyError(key, f"model.config.{key}: not a {model_type} config key"
                                      f"{suggest(str(key), sorted(known))}")
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


def check_model_vocabulary(model_dir: Path, tokenizer, tokenizer_dir: Path | None, *, first: int | None = None,
                           trust_remote_code: bool = False) -> None:
    """Refuse a tokenizer whose first ids are not the model's own vocabulary (ids and strings): a model
    trained with another tokenizer's ids would learn row 4000 as one character and be used as another.

    The model's vocabulary is its folder's tokenizer; the tokenizer in effect must hold every one of its
    tokens at the same id (an extension only appends). Without tokenizer files in the model folder only
    the sizes can be checked (the embedding rows against the extension's recorded base size), with a
    warning. `first` limits the comparison to the first N ids (default: all of the model's)."""
    from common.tokenizer import TokenizerLoadError, has_tokenizer, load_tokenizer

    if not has_tokenizer(model_dir):
        record = read_vocab_extension(tokenizer_dir)
        rows = _config_vocab_size(model_dir)
        base = record.get("base_vocab_size") if record else None
        if base is not None and rows is not None and rows not in {base, len(tokenizer)}:
            raise TrainError(f"model.path {model_dir} has {rows:,} vocabulary rows but the tokenizer in effect "
                             f"({tokenizer_dir}) extends a base of {base:,} tokens ({record.get('base')}): they are "
                             "not the same vocabulary; use the model's own tokenizer as tokenizer.path")
        log.warning("model.path %s has no tokenizer files: cannot check that its vocabulary is the base of the "
                    "tokenizer in effect (%s)", model_dir, tokenizer_dir)
        return
    try:
        own = load_tokenizer(model_dir, trust_remote_code=trust_remote_code)
    except TokenizerLoadError as err:
        raise TrainError(f"model.path: {err}") from None
    own_vocab = own.get_vocab()
    theirs = {i: t for t, i in tokenizer.get_vocab().items()}
    limit = len(own_vocab) if first is None else min(first, len(own_vocab))
    for token, i in sorted(own_vocab.items(), key=lambda item: item[1])[:limit]:
        if theirs.get(i) != token:
            other = theirs.get(i)
            said = f"{other!r}" if other is not None else "missing"
            raise TrainError(
                f"model.path {model_dir} and the tokenizer in effect ({tokenizer_dir}) disagree: id {i} is {token!r} "
                f"for the model but {said} in the tokenizer, so the model's vocabulary is not the tokenizer's base; "
                "train with the model's own tokenizer (tokenizer.path: the model folder) or one extended from it")


def _config_vocab_size(model_dir: Path) -> int | None:
    try:
        value = json.loads((Path(model_dir) / "config.json").read_text()).get("vocab_size")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


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
def resize_embeddings(model: PreTrainedModel, vocab_size: int, extension: dict | None,
                      new_rows: str = "mean_subtokens") -> int:
    """Grow input embeddings and LM head to `vocab_size`; each added token's row (input and untied
    output) becomes the mean of its base sub-token rows (`new_rows`: mean_subtokens, ChatFlow), a draw
    from normal(0, initializer_range) (random) or the mean of every base row (global_mean). Returns how
    many added rows were so initialised (mean_subtokens: those vocab_extension.json describes)."""
    old = model.get_input_embeddings().weight.shape[0]
    if vocab_size < old:
        raise TrainError(f"the tokens use a vocabulary of {vocab_size} but the model has {old} rows: wrong tokenizer?")
    if vocab_size == old:
        return 0
    model.resize_token_embeddings(vocab_size, mean_resizing=True)
    if new_rows != "mean_subtokens":
        std = float(getattr(model.config, "initializer_range", 0.02))
        for weight in _embedding_matrices(model):
            if new_rows == "random":
                weight[old:] = torch.randn_like(weight[old:], dtype=torch.float32).mul_(std).to(weight.dtype)
            else:
                weight[old:] = weight[:old].float().mean(0).to(weight.dtype)
        return vocab_size - old
    if extension is None:
        log.warning("vocabulary grew from %d to %d without vocab_extension.json: new rows use the mean embedding", old, vocab_size)
        return 0
    matrices = _embedding_matrices(model)
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


def _embedding_matrices(model: PreTrainedModel) -> list[torch.Tensor]:
    """The input embedding and, when not tied to it, the LM head."""
    matrices = [model.get_input_embeddings().weight]
    head = model.get_output_embeddings()
    if head is not None and head.weight.data_ptr() != matrices[0].data_ptr():
        matrices.append(head.weight)
    return matrices


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
