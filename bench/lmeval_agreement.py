"""Our C-Eval scoring agrees with lm-evaluation-harness item by item (docs/evaluation.md, BENCHMARKS.md).

On the bundled C-Eval sample (recipes/eval_samples/ceval, val split) and one model, runs

- `evaluation.multiple_choice.evaluate_benchmark` (what `python -m evaluation.run` scores), and
- lm_eval (`--model hf`, from its own venv so it cannot change the project's pins) with one task per
  subject written here that reproduces our prompt exactly: the subject header as `description`, the
  first `shots` dev questions in file order (`sampler: first_n`), `question\\nA. ..\\n答案：` and the
  letters A-D as continuations with no delimiter,

and compares, per question, the prompt text, the chosen letter and the four log-likelihoods.

    python -m venv --system-site-packages bench/.venv-lmeval
    bench/.venv-lmeval/bin/pip install -c <(pip freeze | grep -E '^(torch|transformers|numpy|datasets|tokenizers|accelerate|safetensors|scipy|pandas)==') lm-eval
    PYTHONPATH=$PWD python bench/lmeval_agreement.py [--model DIR] [--shots 5]

Without --model a tiny random LLaMA (seeded) with the demo tokenizer (recipes/demo_data/tokenizer, which
adds BOS like a LLaMA tokenizer) is built in a temporary folder. Exit code 0 when every item agrees.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "recipes" / "eval_samples" / "ceval"
DEMO_TOKENIZER = ROOT / "recipes" / "demo_data" / "tokenizer"
DEFAULT_LM_EVAL = Path(__file__).resolve().parent / ".venv-lmeval" / "bin" / "lm_eval"
TOLERANCE = 1e-4  # nats; both run float32 on CPU, differences are batching/padding rounding

LOADER = '''"""Written by bench/lmeval_agreement.py: one C-Eval subject's dev and val files, all text."""
import csv
from pathlib import Path

import datasets


def _rows(file):
    with open(file, encoding="utf-8-sig", newline="") as f:
        records = list(csv.reader(f))
    header = [h.strip().lower() for h in records[0]]
    return [{c: row.get(c.lower(), "") for c in ("id", "question", "A", "B", "C", "D", "answer")}
            for row in (dict(zip(header, r)) for r in records[1:])]


def load(path, subject, display, split="val", **_):
    root = Path(path)
    out = {}
    for name in ("dev", split):
        rows = _rows(root / name / f"{subject}_{name}.csv")
        out[name] = datasets.Dataset.from_list([{**r, "subject_name": display} for r in rows])
    return datasets.DatasetDict(out)
'''

TASK = """task: {task}
custom_dataset: !function utils.load
dataset_kwargs:
  path: {path}
  subject: {subject}
  display: {display}
  split: val
validation_split: val
fewshot_split: dev
fewshot_config:
  sampler: first_n
output_type: multiple_choice
description: {description}
doc_to_text: {doc_to_text}
doc_to_choice: ["A", "B", "C", "D"]
doc_to_target: "{{{{['A', 'B', 'C', 'D'].index(answer)}}}}"
target_delimiter: ""
fewshot_delimiter: "\\n\\n"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""


def find_lm_eval(explicit: str | None = None) -> Path | None:
    """lm_eval's CLI: --lm-eval, $LM_EVAL, bench/.venv-lmeval, else None."""
    for candidate in (explicit, os.environ.get("LM_EVAL"), DEFAULT_LM_EVAL):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def build_model(folder: Path, seed: int = 0) -> Path:
    """A tiny random LLaMA with the demo tokenizer, saved as a Hugging Face folder."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(DEMO_TOKENIZER)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # larger than HF's init: next-token distributions far from uniform
        for param in model.parameters():
            if param.dim() > 1:
                param.normal_(0, 0.3)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def ours(model: Path, shots: int) -> dict[tuple[str, str], dict]:
    """{(subject, id): {"prompt", "predicted", "logprobs"}} from our scorer."""
    from evaluation.benchmarks import load_benchmark
    from evaluation.config import BenchmarkSection
    from evaluation.models import load_model
    from evaluation.multiple_choice import build_prompt, evaluate_benchmark

    bench = BenchmarkSection(name="ceval", format="ceval", path=SAMPLES, shots=shots)
    subjects = load_benchmark(bench)
    lm = load_model(model, device="cpu", dtype="float32")
    results = evaluate_benchmark(lm, bench, subjects, batch_tokens=8192)
    items = {}
    for subject in subjects:
        by_id = {p["id"]: p for p in results[subject.name].predictions}
        for question in subject.questions:
            row = by_id[question.id]
            items[(subject.name, str(question.id))] = {
                "prompt": build_prompt(bench, subject, question, row["shots"]),
                "predicted": row["predicted"],
                "logprobs": row["logprobs"],
                "display": subject.display_name,
                "answer": question.answer,
            }
    return items


def write_tasks(folder: Path, subjects: dict[str, str]) -> list[str]:
    """One lm_eval task per subject (few-shot examples must come from the question's own subject)."""
    from evaluation.benchmarks import FORMATS

    style = FORMATS["ceval"].style
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "utils.py").write_text(LOADER, encoding="utf-8")
    names = []
    for subject, display in subjects.items():
        task = f"zh_adapt_agree_{subject}"
        doc_to_text = style.question_prefix + "{{question}}" + "".join(
            f"\n{letter}. {{{{{letter}}}}}" for letter in "ABCD") + style.answer_cue
        # ours: header + (example + cue + letter + "\n\n") * shots + question + cue; lm_eval: description +
        # (text + target_delimiter + target + fewshot_delimiter) * shots + text
        assert style.letter_prefix == ""
        text = TASK.format(
            task=task, path=json.dumps(str(SAMPLES)), subject=subject, display=json.dumps(display),
            description=json.dumps(style.header.replace("{subject}", "{{subject_name}}"), ensure_ascii=False),
            doc_to_text=json.dumps(doc_to_text, ensure_ascii=False),
        )
        (folder / f"{task}.yaml").write_text(text, encoding="utf-8")
        names.append(task)
    return names


def theirs(cli: Path, model: Path, shots: int, work: Path, subjects: dict[str, str]) -> dict[tuple[str, str], dict]:
    """{(subject, id): {"prompt", "predicted", "logprobs"}} from lm_eval's logged samples."""
    tasks = write_tasks(work / "tasks", subjects)
    out = work / "lm_eval_out"
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("PYTHONPATH", None)
    command = [
        str(cli), "--model", "hf", "--model_args", f"pretrained={model},dtype=float32",
        "--device", "cpu", "--include_path", str(work / "tasks"), "--tasks", ",".join(tasks),
        "--num_fewshot", str(shots), "--batch_size", "4", "--output_path", str(out), "--log_samples",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=work)
    if done.returncode != 0:
        raise RuntimeError(f"lm_eval failed ({done.returncode}):\n{done.stderr[-4000:]}")
    items = {}
    for subject in subjects:
        files = sorted(out.rglob(f"samples_zh_adapt_agree_{subject}_*.jsonl"))
        if not files:
            raise RuntimeError(f"no samples file for {subject} under {out}")
        for line in files[-1].read_text(encoding="utf-8").splitlines():
            sample = json.loads(line)
            lls = [float(r[0]) for r in sample["filtered_resps"]]
            prompts = {a["arg_0"] if isinstance(a, dict) else a[0] for a in sample["arguments"].values()} \
                if isinstance(sample["arguments"], dict) else {a[0] for a in sample["arguments"]}
            (prompt,) = prompts
            best = max(range(len(lls)), key=lambda i: lls[i])  # lm_eval's acc: argmax, first on ties
            items[(subject, str(sample["doc"]["id"]))] = {
                "prompt": prompt,
                "predicted": "ABCD"[best],
                "logprobs": dict(zip("ABCD", lls, strict=True)),
            }
    return items


def compare(cli: Path, work: Path, model: Path | None = None, shots: int = 5) -> dict:
    """Run both on the C-Eval sample and count agreements."""
    if model is None:
        model = build_model(work / "model")
    mine = ours(model, shots)
    subjects = {s: row["display"] for (s, _), row in mine.items()}
    other = theirs(cli, model, shots, work, subjects)
    same_prompt = same_choice = 0
    max_diff = 0.0
    disagreements = []
    for key, row in mine.items():
        them = other.get(key)
        if them is None:
            disagreements.append(f"{key}: not in lm_eval's samples")
            continue
        same_prompt += row["prompt"] == them["prompt"]
        same_choice += row["predicted"] == them["predicted"]
        diff = max(abs(row["logprobs"][x] - them["logprobs"][x]) for x in "ABCD")
        max_diff = max(max_diff, diff)
        if row["predicted"] != them["predicted"] or row["prompt"] != them["prompt"] or diff > TOLERANCE:
            disagreements.append(f"{key}: ours {row['predicted']} theirs {them['predicted']}, "
                                 f"same prompt {row['prompt'] == them['prompt']}, max |dlogprob| {diff:.2e}")
    return {
        "model": str(model), "shots": shots, "items": len(mine), "lm_eval_items": len(other),
        "same_prompt": same_prompt, "same_choice": same_choice, "max_abs_logprob_diff": max_diff,
        "tolerance": TOLERANCE, "disagreements": disagreements,
        "our_letters": {x: sum(r["predicted"] == x for r in mine.values()) for x in "ABCD"},
        "correct_ours": sum(r["predicted"] == r["answer"] for r in mine.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="HF model folder (default: a tiny random LLaMA built here)")
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--lm-eval", help="lm_eval CLI (default $LM_EVAL, else bench/.venv-lmeval/bin/lm_eval)")
    args = parser.parse_args(argv)
    cli = find_lm_eval(args.lm_eval)
    if cli is None:
        print("lm_eval not found: create bench/.venv-lmeval (see this file's docstring)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        result = compare(cli, Path(tmp), args.model, args.shots)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    ok = not result["disagreements"] and result["same_choice"] == result["items"] > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
