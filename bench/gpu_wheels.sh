#!/usr/bin/env bash
# Wheels the H200 device machine lacks (no network there), for CPython 3.12 manylinux x86_64, into
# bench/gpu_wheels/ (gitignored; carried with the working tree), plus a wheel of the project itself.
#
#   bash bench/gpu_wheels.sh            # then: see docs/train.md, "GPU validation (issue 18)"
#
# The machine has torch 2.11, transformers 5.17, accelerate 1.15, safetensors, tokenizers, sentencepiece,
# numpy, pyarrow, tensorboard, matplotlib, pillow, pyyaml, regex, rich, packaging (/work/.library/device/KINDS.md).
# What train/, merge/, mixer.manifest and the test fixtures import beyond that: polars (+ its runtime),
# pydantic (+ pydantic-core, annotated-types, typing-inspection, a typing-extensions new enough for it).
# One version of each, the ones installed and tested here. Prints the sizes; the whole tree must stay under
# 64 MiB. polars' runtime alone is 51 MiB, so datatrove (16.5 MiB, imported by curation only, not by train/,
# merge/ or bench/gpu_check.py) does not fit beside it: `bash bench/gpu_wheels.sh --datatrove` adds it
# (74 MiB in all: over one call's limit; a curation run there would need a set of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=bench/gpu_wheels
rm -rf "$dest"
mkdir -p "$dest"
pins=(polars==2.1.0 polars-runtime-32==2.1.0 pydantic==2.13.4 pydantic-core==2.46.4 annotated-types==0.7.0
      typing-inspection==0.4.2 typing-extensions==4.16.0)
if [ "${1:-}" = "--datatrove" ]; then pins+=(datatrove==0.10.1); fi
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$dest" "${pins[@]}" 2> >(grep -v "is neither a file nor a directory" >&2)
python3 -m pip wheel -q --no-deps --no-build-isolation -w "$dest" . >/dev/null
rm -rf build
n=$(ls "$dest"/*.whl | wc -l)
if [ "$n" -ne $(( ${#pins[@]} + 1 )) ]; then echo "expected $(( ${#pins[@]} + 1 )) wheels, got $n" >&2; exit 1; fi
du -b "$dest"/*.whl | awk '{printf "%8.2f MiB  %s\n", $1/2^20, $2}'
wheels=$(du -cb "$dest"/*.whl | tail -1 | cut -f1)
tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | sort -zu \
        | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
awk -v w="$wheels" -v t="$tree" 'BEGIN {
  printf "wheels %.1f MiB + working tree %.1f MiB = %.1f MiB of the 64 MiB the device tool carries\n",
         w/2^20, t/2^20, (w+t)/2^20; exit ((w+t) >= 64*2^20) }'
