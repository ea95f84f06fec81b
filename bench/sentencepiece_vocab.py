"""Vocabulary extension and tokenize + pack throughput for a LLaMA-2-style SentencePiece BPE (byte fallback,
`▁` prefix space, <unk>=0 <s>=1 </s>=2, <0x00>..<0xFF> at 3..258), the tokenizer users of LLaMA-2 adapt,
where BENCHMARKS.md otherwise measures only the 4,000-token byte-level demo tokenizer.

    python bench/sentencepiece_vocab.py --workdir /tmp/sp_bench/run --mb 4

1. Curates the demo (`python -m curation.run recipes/demo.yaml --until publish`) into WORKDIR/demo.
2. Trains the base offline with `tokenizers` (BPE, byte_fallback, digits split, at most 16 characters a
   piece, character coverage 0.99995 as SentencePiece's `character_coverage`), English-first: the
   English of the curated demo (mono + the en side of pairs), the stdlib's docstrings and pydoc topics,
   the long descriptions (README) of the installed distributions (`*.dist-info/METADATA`) and, until
   --english-mb, the docstrings of a few large installed packages (ENGLISH_PACKAGES), each line once;
   plus --zh-chars of curated Chinese (LLaMA-2 saw ~0.13% Chinese and has ~700 CJK characters). It is
   saved as the Hub's Llama-2 folder is: tokenizer.json with normalizer Prepend("▁") + Replace(" ", "▁"),
   no pre-tokenizer, decoder Replace/ByteFallback/Fuse/Strip, BOS template; tokenizer_config.json with
   `tokenizer_class: LlamaTokenizer` (so transformers 5 rebuilds its own Metaspace pipeline around the
   vocab and merges, as it does for the real LLaMA-2).
3. Extends it with `curation.vocab.extend.extend_vocabulary` (method `model_vocab`) from a recipe
   (WORKDIR/ext_*/recipe.yaml, max_new_tokens 1000, min_frequency 5) on the curated demo, characters only
   and characters + jieba words; checks old ids, English ids unchanged and decode(encode(t)) == t on the
   held-out documents.
4. Measures tokenize + pack with bench/tokenization.py's three methods for base, +chars, +chars+words on
   the same --mb of demo text, one thread (RAYON_NUM_THREADS=1), so MB/s is per core.

Prints markdown tables. About 2.5 minutes on 2 cores with the defaults (3 when the demo is not curated yet).
"""

from __future__ import annotations

import os
import sys

# run as a script, this file's folder is sys.path[0] and bench/curation.py would shadow the package
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

os.environ["RAYON_NUM_THREADS"] = "1"  # before tokenizers starts its thread pool: per-core numbers
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import site  # noqa: E402
import subprocess  # noqa: E402
import sysconfig  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.text import HAN  # noqa: E402
from curation.vocab.count import source_folders, texts_by_language  # noqa: E402

# installed packages whose docstrings top up the English text, in this order, until --english-mb
ENGLISH_PACKAGES = ("numpy", "pandas", "scipy", "transformers", "torch", "sympy")
SPECIALS = ("<unk>", "<s>", "</s>")
BYTES = tuple(f"<0x{b:02X}>" for b in range(256))
TRIPLE_QUOTED = re.compile(r"(\"\"\"|''')(.*?)\1", re.S)
CJK_CHAR = re.compile(f"^[{HAN}]$")
CHAR_COVERAGE = 0.99995  # Llama-2 tokenizer.model trainer_spec
# the Hub's meta-llama/Llama-2-7b-hf tokenizer.json around its BPE model
LLAMA2_NORMALIZER = {"type": "Sequence", "normalizers": [
    {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
LLAMA2_DECODER = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
LLAMA2_POST_PROCESSOR = {
    "type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
             {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}


def load_bench_tokenization():
    """bench/tokenization.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_tokenization", ROOT / "bench" / "tokenization.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------------------
# training text


def curated_texts(curated: Path, language: str, only: str | None = None) -> Iterator[str]:
    """The `language` texts of the curated demo (mono documents, that side of pairs; no conversations)."""
    from common.documents import iter_documents

    for folder in source_folders(curated):
        if only is not None and folder.name != only:
            continue
        for doc in iter_documents(folder):
            if (doc.get("metadata") or {}).get("kind") != "instruct":
                yield from (text for lang, text in texts_by_language(doc) if lang == language)


def docstrings(folder: Path, skip: tuple[str, ...] = ()) -> Iterator[str]:
    """Triple-quoted strings of the .py files under `folder` (sorted), skipping paths with a part in `skip`."""
    for path in sorted(folder.rglob("*.py")):
        if skip and set(path.relative_to(folder).parts) & set(skip):
            continue
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        yield from (m.group(2) for m in TRIPLE_QUOTED.finditer(source))


def distribution_descriptions(site_packages: Path) -> Iterator[str]:
    """The long description (README) of every installed distribution, sorted by folder name."""
    for metadata in sorted(site_packages.glob("*.dist-info/METADATA")):
        text = metadata.read_text(encoding="utf-8", errors="replace")
        _, _, body = text.partition("\n\n")  # headers, blank line, description
        yield body


def english_sources(curated: Path) -> list[tuple[str, Callable[[], Iterable[str]]]]:
    """(name, texts) in the order they are used."""
    from pydoc_data.topics import topics

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    site_packages = Path(site.getsitepackages()[0])
    sources = [
        ("curated demo English (en_web, en side of pairs)", lambda: curated_texts(curated, "en")),
        (f"Python {sys.version.split()[0]} stdlib docstrings", lambda: docstrings(stdlib, ("site-packages", "test", "tests", "idlelib"))),
        ("Python pydoc topics", lambda: (topics[k] for k in sorted(topics))),
        ("site-packages *.dist-info/METADATA descriptions", lambda: distribution_descriptions(site_packages)),
    ]
    for name in ENGLISH_PACKAGES:
        if (site_packages / name).is_dir():
            version = importlib.metadata.version(name)
            sources.append((f"{name} {version} docstrings", lambda name=name: docstrings(site_packages / name, ("tests",))))
    return sources


def english_lines(curated: Path, megabytes: float) -> tuple[list[str], list[tuple[str, float]]]:
    """Distinct stripped lines of English text, up to `megabytes`, and the MB taken from each source.
    One line per training sentence, so no piece spans a newline (LLaMA-2 has none: "\\n" is <0x0A>)."""
    seen: set[str] = set()
    lines: list[str] = []
    size, used = 0, []
    for name, texts in english_sources(curated):
        start = size
        for text in texts():
            for line in text.splitlines():
                line = line.strip()
                if line and line not in seen and size < megabytes * 1e6:
                    seen.add(line)
                    lines.append(line)
                    size += len(line.encode("utf-8")) + 1
        used.append((name, (size - start) / 1e6))
        if size >= megabytes * 1e6:
            break
    return lines, used


def chinese_lines(curated: Path, n_chars: int) -> tuple[list[str], list[str]]:
    """The first `n_chars` characters of curated Chinese (sources in sorted order), as lines; and the sources."""
    lines, size, used = [], 0, []
    for folder in source_folders(curated):
        for text in curated_texts(curated, "zh", only=folder.name):
            for line in (line.strip() for line in text.splitlines()):
                if line and size < n_chars:
                    lines.append(line)
                    size += len(line)
                    used += [] if folder.name in used else [folder.name]
    return lines, used


# ---------------------------------------------------------------------------------------------------
# the base tokenizer


def alphabet(lines: list[str], coverage: float) -> list[str]:
    """The most frequent characters (with "▁") that cover `coverage` of all, as SentencePiece's
    character_coverage; ties by code point, so the alphabet is the same every run."""
    counts = Counter()
    for line in lines:
        counts.update(line.replace(" ", "▁"))
        counts["▁"] += 1
    total, covered, kept = sum(counts.values()), 0, []
    for char, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if covered >= coverage * total:
            break
        kept.append(char)
        covered += n
    return kept


def build_base(lines: list[str], out: Path, vocab_size: int, tokenizer_class: str) -> dict:
    """Train a LLaMA-2-style BPE on `lines` and save it as the Hub's Llama-2 tokenizer folder."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    # SentencePiece pieces never cross a word start ("▁" only leads) nor join digits (split_digits)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
        pre_tokenizers.Digits(individual_digits=True)])
    chars = alphabet(lines, CHAR_COVERAGE)
    # the trainer breaks ties of limit_alphabet in hash order: given as initial_alphabet, exactly these are kept
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - len(BYTES), special_tokens=list(SPECIALS), min_frequency=2,
                                  initial_alphabet=chars, limit_alphabet=len(chars), max_token_length=16,
                                  show_progress=False)
    tok.train_from_iterator(lines, trainer)
    spec = json.loads(tok.to_str())
    trained = sorted(spec["model"]["vocab"].items(), key=lambda kv: kv[1])
    order = list(SPECIALS) + list(BYTES) + [t for t, _ in trained if t not in SPECIALS and t not in BYTES]
    spec["model"]["vocab"] = {token: i for i, token in enumerate(order)}
    spec["normalizer"], spec["pre_tokenizer"] = LLAMA2_NORMALIZER, None
    spec["decoder"], spec["post_processor"] = LLAMA2_DECODER, LLAMA2_POST_PROCESSOR
    fast = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(spec)),
                                   bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(str(out))
    config_file = out / "tokenizer_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config.update(tokenizer_class=tokenizer_class, add_bos_token=True, add_eos_token=False, legacy=False,
                  clean_up_tokenization_spaces=False, pad_token=None)
    config.pop("backend", None)
    config_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    cjk = sum(1 for t in order if CJK_CHAR.match(t))
    return {"vocab_size": len(order), "alphabet": len(chars), "cjk_chars": cjk,
            "cjk_multi": sum(1 for t in order if len(t.lstrip("▁")) > 1 and re.fullmatch(f"▁?[{HAN}]+", t))}


# ---------------------------------------------------------------------------------------------------
# the vocabulary stage


def write_recipe(workdir: Path, base: Path, words: bool) -> Path:
    """A recipe with only the tokenizer section, the demo's extend settings, on the curated demo."""
    import yaml

    extend = {"enabled": True, "max_new_tokens": 1000, "min_frequency": 5}
    if words:
        extend["words"] = {"enabled": True}
    workdir.mkdir(parents=True, exist_ok=True)
    recipe = workdir / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"name": workdir.name, "workdir": ".", "tokenizer": {"path": str(base), "extend": extend}},
                                     sort_keys=False), encoding="utf-8")
    return recipe


def extend(workdir: Path, demo: Path, base: Path, words: bool) -> tuple[dict, float]:
    """Run the vocabulary stage on WORKDIR (curated/ and heldout/ link to the demo's); (record, seconds)."""
    from common.recipe import Recipe
    from curation.vocab.extend import extend_vocabulary

    recipe_file = write_recipe(workdir, base, words)
    for name in ("curated", "heldout"):
        link = workdir / name
        if not link.exists():
            link.symlink_to(demo / name, target_is_directory=True)
    t0 = time.perf_counter()
    record = extend_vocabulary(Recipe.load(recipe_file), force=True)
    return record, time.perf_counter() - t0


def heldout_texts(demo: Path, language: str) -> list[str]:
    return [text for text in curated_texts(demo / "heldout", language) if text.strip()]


def check(base_dir: Path, new_dir: Path, record: dict, heldout: dict[str, list[str]]) -> dict:
    """Old ids kept, English encoded as by the base, round trip on held-out text, new tokens used."""
    from transformers import AutoTokenizer

    base = AutoTokenizer.from_pretrained(str(base_dir))
    new = AutoTokenizer.from_pretrained(str(new_dir))
    new_vocab = new.get_vocab()
    result = {"moved": sum(1 for t, i in base.get_vocab().items() if new_vocab.get(t) != i)}
    for language, texts in heldout.items():
        ids = new(texts, add_special_tokens=False, return_attention_mask=False)["input_ids"]
        base_ids = base(texts, add_special_tokens=False, return_attention_mask=False)["input_ids"]
        result[f"round_trip_{language}"] = sum(new.decode(i) == t for i, t in zip(ids, texts, strict=True))
        result[f"base_round_trip_{language}"] = sum(base.decode(i) == t for i, t in zip(base_ids, texts, strict=True))
        result[f"same_ids_{language}"] = sum(a == b for a, b in zip(ids, base_ids, strict=True))
        result[f"n_{language}"] = len(texts)
        if language == "zh":
            first_new = record["base_vocab_size"]
            used = {i for seq in ids for i in seq if i >= first_new}
            result["new_used"] = len(used)
    return result


# ---------------------------------------------------------------------------------------------------
# throughput (bench/tokenization.py's methods)


def throughput_one(bench, path: Path, corpus: Path, tmp: Path, cfg, repeat: int) -> tuple[dict, tuple]:
    """Best of `repeat` (seconds, tokens, bytes on disk) per method for the tokenizer at `path`; and whether
    ours and plain wrote the same token stream, datatrove's token count and ours."""
    import numpy as np
    from transformers import AutoTokenizer

    from common.tokens import TokenShard
    from curation.tokenize import tokenize_source

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    runs = {
        "ours: `curation.tokenize`": lambda out: tokenize_source(corpus, out, tokenizer, cfg, force=True)["n_tokens"],
        "plain: HF `tokenizer(batch)` + numpy": lambda out: bench.plain(corpus, out, tokenizer, cfg.seq_len, cfg.batch_size),
        "datatrove `DocumentTokenizer`":
            lambda out: bench.datatrove_tokenize(corpus, out, path / "tokenizer.json", tokenizer.eos_token),
    }
    best: dict[str, tuple[float, int, int]] = {}
    for rep in range(repeat):  # interleaved, best of n: the tokenizer's word cache warms on the first pass
        for k, (name, fn) in enumerate(runs.items()):
            out = tmp / f"out{k}_{rep}"
            t0 = time.perf_counter()
            tokens = fn(out)
            seconds = time.perf_counter() - t0
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, tokens, bench.folder_bytes(out))
    shard = TokenShard(tmp / "out0_0")
    ours_stream = np.concatenate([shard[k].input_ids for k in range(len(shard))])[: shard.n_tokens]
    n_plain = best["plain: HF `tokenizer(batch)` + numpy"][1]
    plain_stream = np.fromfile(tmp / "out1_0", dtype=np.uint16)[:n_plain]
    same = n_plain == shard.n_tokens and np.array_equal(ours_stream, plain_stream)
    return best, (same, best["datatrove `DocumentTokenizer`"][1], shard.n_tokens)


def throughput(bench, tokenizers: dict[str, Path], megabytes: float, seq_len: int, repeat: int, tmp: Path
               ) -> tuple[list, float, dict]:
    """bench/tokenization.py's three methods for every tokenizer, on one corpus of `megabytes` of demo text."""
    from loguru import logger

    from common.encoding import TokenizeSection

    logger.disable("datatrove")  # its per-file INFO lines
    n_bytes, by_lang = bench.build_corpus(tmp / "curated", megabytes)
    cfg = TokenizeSection(seq_len=seq_len)
    rows, streams = [], {}
    for k, (label, path) in enumerate(tokenizers.items()):
        (tmp / str(k)).mkdir()
        best, streams[label] = throughput_one(bench, path, tmp / "curated", tmp / str(k), cfg, repeat)
        rows += [(label, name, *result) for name, result in best.items()]
    return rows, n_bytes, {"by_lang": by_lang, "streams": streams}


# ---------------------------------------------------------------------------------------------------


def main() -> None:
    from transformers import AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/sp_bench/run", help="everything is written here")
    parser.add_argument("--vocab-size", type=int, default=32_000, help="target base vocab (LLaMA-2: 32,000)")
    parser.add_argument("--english-mb", type=float, default=16, help="megabytes of English training text")
    parser.add_argument("--zh-chars", type=int, default=5_000, help="characters of curated Chinese in the training text")
    parser.add_argument("--tokenizer-class", default="LlamaTokenizer", help="tokenizer_config.json's tokenizer_class")
    parser.add_argument("--mb", type=float, default=4, help="megabytes of text for the throughput runs")
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=3, help="passes per throughput method (best is reported)")
    parser.add_argument("--reference", default=str(ROOT / "recipes" / "demo_data" / "tokenizer"),
                        help="also measure this tokenizer (default: the demo's byte-level BPE; '' for none)")
    args = parser.parse_args()
    workdir = Path(args.workdir).resolve()
    demo = workdir / "demo"
    t_start = time.perf_counter()

    if not (demo / "curated" / "_report.json").is_file():
        subprocess.run([sys.executable, "-m", "curation.run", str(ROOT / "recipes" / "demo.yaml"), "--workdir", str(demo),
                        "--until", "publish"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    t0 = time.perf_counter()
    en, used = english_lines(demo / "curated", args.english_mb)
    zh, zh_sources = chinese_lines(demo / "curated", args.zh_chars)
    t_text = time.perf_counter() - t0
    base_dir = workdir / "base"
    t0 = time.perf_counter()
    base = build_base(en + zh, base_dir, args.vocab_size, args.tokenizer_class)
    t_train = time.perf_counter() - t0
    en_chars, zh_chars = sum(len(s) for s in en), sum(len(s) for s in zh)
    loaded = AutoTokenizer.from_pretrained(str(base_dir))
    layout = ", ".join(f"{t} {loaded.convert_tokens_to_ids(t)}" for t in (*SPECIALS, BYTES[0], BYTES[-1]))

    print(f"## SentencePiece-style (LLaMA-2-like) base tokenizer: {base_dir}\n")
    print("| training text | MB |\n|---|---|")
    for name, mb in used:
        print(f"| {name} | {mb:.2f} |")
    print(f"| curated demo Chinese, first {args.zh_chars:,} characters ({', '.join(zh_sources)}) | "
          f"{len(''.join(zh).encode()) / 1e6:.2f} |")
    print(f"\n{len(en):,} English lines ({en_chars:,} chars) + {len(zh):,} Chinese lines ({zh_chars:,} chars, "
          f"{zh_chars / (en_chars + zh_chars):.2%} of characters); text gathered in {t_text:.1f} s, BPE trained in "
          f"{t_train:.1f} s (1 thread). Vocab {base['vocab_size']:,} (target {args.vocab_size:,}), alphabet "
          f"{base['alphabet']:,} characters (coverage {CHAR_COVERAGE}), {base['cjk_chars']:,} single CJK characters "
          f"and {base['cjk_multi']:,} multi-character Chinese pieces (LLaMA-2: ~700 CJK characters); ids {layout}; "
          f"tokenizer_class {args.tokenizer_class}, AutoTokenizer loads it as {type(loaded).__name__} "
          f"({len(loaded):,} tokens).\n")

    heldout = {lang: heldout_texts(demo, lang) for lang in ("zh", "en")}
    results = {}
    for label, words in (("+chars", False), ("+chars+words", True)):
        record, seconds = extend(workdir / ("ext_words" if words else "ext_chars"), demo, base_dir, words)
        results[label] = (record, seconds, check(base_dir, workdir / ("ext_words" if words else "ext_chars") / "tokenizer",
                                                  record, heldout))

    print("## Vocabulary extension (`curation.vocab`, max_new_tokens 1000, min_frequency 5)\n")
    print("| tokenizer | method | vocab size | new chars | new words (merges) | vocab stage s |")
    print("|---|---|---|---|---|---|")
    print(f"| base | - | {base['vocab_size']:,} | - | - | - |")
    for label, (record, seconds, _) in results.items():
        n_words = sum(1 for e in record["added"] if e["kind"] == "word")
        print(f"| {label} | {record['method']} | {record['vocab_size']:,} | {len(record['added']) - n_words:,} | "
              f"{n_words:,} | {seconds:.1f} |")
    print("\n| chars/token (vocab_extension.json) | zh before | zh after | zh ratio | en before | en after | measured on |")
    print("|---|---|---|---|---|---|---|")
    for label, (record, _, _) in results.items():
        cpt, on = record["chars_per_token"], record["measured_on"]
        print(f"| {label} | {cpt['zh']['before']:.3f} | {cpt['zh']['after']:.3f} | {cpt['zh']['after'] / cpt['zh']['before']:.2f}x | "
              f"{cpt['en']['before']:.3f} | {cpt['en']['after']:.3f} | "
              f"{on['zh']['from']} zh {on['zh']['chars']:,} chars, {on['en']['from']} en {on['en']['chars']:,} chars |")
    print("\n| checks on held-out documents | base ids moved | decode(encode(t)) == t zh | en | base: zh | en | "
          "English ids == base | new ids used in zh |")
    print("|---|---|---|---|---|---|---|---|")
    for label, (_, _, c) in results.items():
        print(f"| {label} | {c['moved']} | {c['round_trip_zh']}/{c['n_zh']} | {c['round_trip_en']}/{c['n_en']} | "
              f"{c['base_round_trip_zh']}/{c['n_zh']} | {c['base_round_trip_en']}/{c['n_en']} | "
              f"{c['same_ids_en']}/{c['n_en']} | {c['new_used']:,} |")

    bench = load_bench_tokenization()
    tokenizers = {"base": base_dir, "+chars": workdir / "ext_chars" / "tokenizer",
                  "+chars+words": workdir / "ext_words" / "tokenizer"}
    if args.reference:
        reference = Path(args.reference).resolve()
        name = reference.relative_to(ROOT) if reference.is_relative_to(ROOT) else reference
        tokenizers[f"reference: {name} ({len(AutoTokenizer.from_pretrained(str(reference))):,} tokens)"] = reference
    tmp = workdir / "throughput"
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    rows, n_bytes, info = throughput(bench, tokenizers, args.mb, args.seq_len, args.repeat, tmp)
    print(f"\n## Tokenize + pack ({n_bytes / 1e6:.2f} MB of demo text, {info['by_lang']['zh'] / n_bytes:.0%} Chinese by "
          f"bytes, seq_len {args.seq_len}, best of {args.repeat}, RAYON_NUM_THREADS=1)\n")
    print("| tokenizer | method | seconds | MB/s/core | tokens | bytes on disk / token | time vs ours |")
    print("|---|---|---|---|---|---|---|")
    ours = {label: seconds for label, name, seconds, *_ in rows if name.startswith("ours")}
    for label, name, seconds, tokens, disk in rows:
        print(f"| {label} | {name} | {seconds:.2f} | {n_bytes / 1e6 / seconds:.2f} | {tokens:,} | {disk / tokens:.2f} | "
              f"{seconds / ours[label]:.2f}x |")
    print("\ntoken streams identical (ours vs plain): " + ", ".join(
        f"{label} {same}" for label, (same, _, _) in info["streams"].items()) + "; datatrove tokens (no BOS) vs ours: "
        + ", ".join(f"{label} {n_dt:,} vs {n_ours:,}" for label, (_, n_dt, n_ours) in info["streams"].items()))
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
