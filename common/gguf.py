"""GGUF checkpoints as model paths: converted once into a plain Hugging Face folder that every stage reads.

The trainer, merge and evaluation all read Hugging Face folders (config.json + safetensors + tokenizer).
A `.gguf` file (or a folder holding one and no config.json) is dequantised by transformers' GGUF loader
(needs the `gguf` package) and written next to it as `<name>.hf/`, in float32, with its tokenizer and
`converted_from.json` (the file's sha256 and size, the transformers version). Later calls reuse that
folder while the file's sha256 matches; a changed file is converted again. The folder is written to
`<name>.hf.tmp/` and renamed, so an interrupted conversion is never mistaken for a result.

    python -m common.gguf MODEL.gguf [--output DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from common.files import file_sha256

MARKER = "converted_from.json"


class GgufError(ValueError):
    """A GGUF path that cannot be used (unreadable, ambiguous, the gguf package missing)."""


def gguf_file(path: Path | str) -> Path | None:
    """The GGUF file `path` names: the file itself, or the only `.gguf` in a folder without config.json;
    None for anything else (a Hugging Face folder, a hub id)."""
    path = Path(path)
    if path.is_file() and path.suffix == ".gguf":
        return path
    if path.is_dir() and not (path / "config.json").is_file():
        found = sorted(path.glob("*.gguf"))
        if len(found) > 1:
            raise GgufError(f"{path}: {len(found)} .gguf files ({', '.join(f.name for f in found)}); name one of them")
        if found:
            return found[0]
    return None


def resolve_model_path(path: Path | str, *, output: Path | str | None = None) -> Path:
    """`path` itself when it is not GGUF; else the Hugging Face folder converted from it (made if needed)."""
    file = gguf_file(path)
    if file is None:
        return Path(path)
    return to_hf_folder(file, output=output)


def to_hf_folder(file: Path, *, output: Path | str | None = None) -> Path:
    file = Path(file)
    out = Path(output) if output else file.with_name(file.stem + ".hf")
    digest = file_sha256(file)
    marker = out / MARKER
    if marker.is_file():
        try:
            if json.loads(marker.read_text()).get("sha256") == digest:
                return out
        except ValueError:
            pass  # a damaged marker: convert again
    try:
        import gguf  # noqa: F401  (transformers needs it; say so in one line, not deep inside transformers)
    except ImportError:
        raise GgufError(f"{file}: reading GGUF needs the `gguf` package (pip install gguf)") from None
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(file.parent, gguf_file=file.name)
        model = AutoModelForCausalLM.from_pretrained(file.parent, gguf_file=file.name, dtype=torch.float32)
    except Exception as err:  # the GGUF reader's failures on a damaged file are of many types (struct.error, ...)
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise GgufError(f"{file}: not a GGUF model transformers can read ({first})") from None
    # dequantised weights are plain float32 tensors: drop the GGUF quantisation record so that the model
    # saves (and later loads) as an ordinary checkpoint
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / MARKER).write_text(json.dumps({
            "file": file.name, "sha256": digest, "bytes": file.stat().st_size,
            "transformers": transformers.__version__, "dtype": "float32",
        }, indent=1) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.gguf", description=__doc__.splitlines()[0])
    parser.add_argument("path", help="a .gguf file, or a folder holding one")
    parser.add_argument("--output", "--out", dest="output", help="Hugging Face folder to write (default: NAME.hf next to it)")
    args = parser.parse_args(argv)
    try:
        file = gguf_file(args.path)
        if file is None:
            raise GgufError(f"{args.path}: no .gguf file there")
        out = to_hf_folder(file, output=args.output)
    except GgufError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
