"""Lazy safetensors reading (one tensor at a time), a streaming sharded safetensors writer, and the output
folder's other files (config, tokenizer).

Reading uses `safetensors.safe_open`: opening a file reads only its header, and `get_tensor` loads one
tensor. Writing streams each tensor to disk as soon as it is merged: the tensors' names, shapes and dtypes
are known before merging starts (from the inputs' headers), so every shard's header is written first and
the data follow in order, and memory never holds more than the tensor being written.
"""

from __future__ import annotations

import json
import math
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch
from safetensors import safe_open

from common.tokenizer import TOKENIZER_FILES

SAFETENSORS_DTYPES: dict[torch.dtype, str] = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
_DTYPE_BY_NAME = {v: k for k, v in SAFETENSORS_DTYPES.items()}


class MergeError(ValueError):
    """Inputs that cannot be merged (missing files, mismatched tensors); the message names the model and tensor."""


@dataclass(frozen=True)
class TensorInfo:
    """Shape and dtype of one stored tensor, read from a safetensors header."""

    shape: tuple[int, ...]
    dtype: torch.dtype

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize


class ModelReader:
    """A Hugging Face model folder whose weights are read lazily, one tensor at a time."""

    def __init__(self, folder: Path, label: str):
        self.folder = Path(folder)
        self.label = label
        self.config = _read_config(self.folder, label)
        self._file_of: dict[str, Path] = {}
        self._offset_of: dict[str, int] = {}  # where a tensor's bytes start in its file
        self.tensors: dict[str, TensorInfo] = {}
        for file in _weight_files(self.folder, label):
            with self._open(file) as handle:
                data_start, header = _read_header(file)
                for name in handle.keys():
                    if name in self._file_of:
                        raise MergeError(
                            f"{label}: tensor {name} is stored twice ({self._file_of[name].name}, {file.name})"
                        )
                    self._file_of[name] = file
                    sliced = handle.get_slice(name)
                    self.tensors[name] = TensorInfo(
                        tuple(sliced.get_shape()), _DTYPE_BY_NAME[sliced.get_dtype()]
                    )
                    self._offset_of[name] = data_start + int(header[name]["data_offsets"][0])

    def _open(self, file: Path):
        try:
            return safe_open(str(file), framework="pt", device="cpu")
        except Exception as err:  # safetensors raises its own error types for corrupt headers
            raise MergeError(f"{self.label}: cannot read {file}: {err}") from None

    def get(self, name: str) -> torch.Tensor:
        """Load one tensor from disk.

        The file is opened for this tensor only: pages of a memory map that stays open count towards the
        process's resident memory once read, so an open handle per shard would grow to the model's size.
        """
        with self._open(self._file_of[name]) as handle:
            return handle.get_tensor(name)

    def read_into(self, name: str, buffer: torch.Tensor) -> torch.Tensor:
        """Read one tensor into the front of the flat, contiguous `buffer` (its dtype); return that view.

        Reusing one buffer for every tensor avoids what `get` costs at billions of parameters: a fresh
        allocation the kernel maps in page by page, and a copy out of a memory map.
        """
        info = self.tensors[name]
        if buffer.dtype != info.dtype or buffer.numel() < info.numel or not buffer.is_contiguous():
            raise ValueError(f"buffer of {buffer.dtype} x {buffer.numel()} cannot hold {name} {info}")
        target = buffer.view(-1)[: info.numel]
        view = memoryview(target.view(torch.uint8).numpy()).cast("B")
        with open(self._file_of[name], "rb", buffering=0) as handle:  # read(2), not a memory map
            handle.seek(self._offset_of[name])
            done = 0
            while done < info.nbytes:
                got = handle.readinto(view[done:])
                if not got:
                    raise MergeError(f"{self.label}: {self._file_of[name]} ends inside tensor {name}")
                done += got
        return target.view(info.shape)

    @property
    def vocab_size(self) -> int | None:
        config = self.config.get("text_config", self.config)
        return config.get("vocab_size")

    @property
    def tie_word_embeddings(self) -> bool:
        return bool(self.config.get("tie_word_embeddings", False))


def _read_header(file: Path) -> tuple[int, dict]:
    """(offset of the data section, parsed JSON header) of a safetensors file (validated by safe_open too)."""
    try:
        with open(file, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            return 8 + length, json.loads(handle.read(length))
    except (OSError, struct.error, ValueError) as err:
        raise MergeError(f"cannot read the safetensors header of {file}: {err}") from None


def _read_config(folder: Path, label: str) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        raise MergeError(f"{label}: {folder} has no config.json (is it a Hugging Face model folder?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise MergeError(f"{label}: {path} is not valid JSON: {err}") from None


def _weight_files(folder: Path, label: str) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (json.JSONDecodeError, KeyError) as err:
            raise MergeError(f"{label}: {index} is not a safetensors index: {err}") from None
        files = sorted({folder / f for f in weight_map.values()})
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise MergeError(f"{label}: {index.name} names shards that do not exist: {', '.join(missing)}")
        return files
    single = folder / "model.safetensors"
    if single.is_file():
        return [single]
    others = sorted(folder.glob("*.safetensors"))
    if others:
        return others
    if any(folder.glob("*.bin")) or any(folder.glob("*.pt")):
        raise MergeError(f"{label}: {folder} has only pickled weights; convert them to safetensors first")
    raise MergeError(f"{label}: {folder} has no safetensors weights")


def parse_size(text: str | int) -> int:
    """'2GB' -> 2_000_000_000, '512MiB' -> 536_870_912; an int is bytes."""
    if isinstance(text, int):
        return text
    units = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
    stripped = text.strip().upper().replace(" ", "")
    number = stripped.rstrip("KMGIB")
    unit = stripped[len(number) :]
    if unit not in units or not number:
        raise ValueError(f"not a size: {text!r} (use e.g. 2GB, 500MB, 1GiB)")
    return int(float(number) * units[unit])


class ShardedWriter:
    """Write tensors, in a planned order, into shards of at most `max_shard_bytes`, plus the index.

    `plan` lists every output tensor as (name, shape, dtype) in the order `write` will be called.
    """

    def __init__(
        self, folder: Path, plan: list[tuple[str, tuple[int, ...], torch.dtype]], max_shard_bytes: int
    ):
        self.folder = Path(folder)
        self.shards: list[list[tuple[str, tuple[int, ...], torch.dtype]]] = [[]]
        size = 0
        for entry in plan:
            nbytes = math.prod(entry[1]) * entry[2].itemsize
            if self.shards[-1] and size + nbytes > max_shard_bytes:
                self.shards.append([])
                size = 0
            self.shards[-1].append(entry)
            size += nbytes
        count = len(self.shards)
        self.names = (
            ["model.safetensors"]
            if count == 1
            else [f"model-{i + 1:05d}-of-{count:05d}.safetensors" for i in range(count)]
        )
        self._order = [entry for shard in self.shards for entry in shard]
        self._position = 0
        self._shard = -1
        self._file: BinaryIO | None = None
        self.total_bytes = sum(math.prod(s) * d.itemsize for _, s, d in self._order)

    def write(self, name: str, tensor: torch.Tensor) -> None:
        """Append the next planned tensor; it is cast to its planned dtype and written at once."""
        expected_name, shape, dtype = self._order[self._position]
        if name != expected_name or tuple(tensor.shape) != shape:
            raise RuntimeError(f"writer expected {expected_name} {shape}, got {name} {tuple(tensor.shape)}")
        shard = self._shard_of(self._position)
        if shard != self._shard:
            self._start_shard(shard)
        data = tensor.detach().to("cpu", dtype).contiguous()
        assert self._file is not None
        self._file.write(memoryview(data.view(torch.uint8).reshape(-1).numpy()))
        self._position += 1

    def _shard_of(self, position: int) -> int:
        for i, shard in enumerate(self.shards):
            if position < len(shard):
                return i
            position -= len(shard)
        raise IndexError("more tensors written than planned")

    def _start_shard(self, shard: int) -> None:
        if self._file is not None:
            self._file.close()
        header: dict[str, object] = {"__metadata__": {"format": "pt"}}
        offset = 0
        for name, shape, dtype in self.shards[shard]:
            nbytes = math.prod(shape) * dtype.itemsize
            header[name] = {
                "dtype": SAFETENSORS_DTYPES[dtype],
                "shape": list(shape),
                "data_offsets": [offset, offset + nbytes],
            }
            offset += nbytes
        encoded = json.dumps(header, separators=(",", ":")).encode()
        encoded += b" " * (-len(encoded) % 8)  # the format pads the header so data start 8-byte aligned
        self._file = open(self.folder / self.names[shard], "wb")  # noqa: SIM115 - closed in close()/next shard
        self._file.write(struct.pack("<Q", len(encoded)))
        self._file.write(encoded)
        self._shard = shard

    def close(self) -> None:
        """Finish the last shard and write `model.safetensors.index.json` when there are several shards."""
        if self._position != len(self._order):
            raise RuntimeError(f"only {self._position} of {len(self._order)} planned tensors were written")
        if self._file is not None:
            self._file.close()
            self._file = None
        if len(self.shards) > 1:
            weight_map = {name: self.names[i] for i, shard in enumerate(self.shards) for name, _, _ in shard}
            index = {"metadata": {"total_size": self.total_bytes}, "weight_map": weight_map}
            (self.folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")


def write_model_files(folder: Path, config: dict, config_from: Path, tokenizer_from: Path) -> list[str]:
    """Write config.json, copy config_from's generation_config.json and tokenizer_from's tokenizer files.

    Returns the names of the tokenizer files copied (recorded in merge_report.json).
    """
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    copied = [f for f in TOKENIZER_FILES if (tokenizer_from / f).is_file()]
    for name in copied:
        shutil.copy2(tokenizer_from / name, folder / name)
    generation = config_from / "generation_config.json"
    if generation.is_file():
        shutil.copy2(generation, folder / "generation_config.json")
    return copied
