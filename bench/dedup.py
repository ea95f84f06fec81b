"""Near dedup on Chinese text: ours (character n-grams, numpy, batched signatures; LSH candidates verified on
bottom-k sketches) vs stock datatrove `MinhashDedupSignature(language="zh")` (jieba words, its default
14 bands x 8 rows), on the same synthetic corpus with planted near duplicates. Both signature sets go
through datatrove's bucket stage; ours then through our cluster step (verification, keep first). Reported:
signature throughput (single process, so MB/s is per core), planted pairs each finds, pairs found that
were not planted, and the pairs stock finds that ours does not remove.

    python bench/dedup.py --docs 2000 --chars 800 --seeds 0 1 2
    python bench/dedup.py --docs 20000 --chars 800 --seeds 0 --expected   # expected misses per threshold
"""

from __future__ import annotations

import argparse
import random
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[0] = str(Path(__file__).resolve().parents[1])  # not bench/: its files shadow packages and stdlib modules

from datatrove.data import Document  # noqa: E402
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets, MinhashDedupSignature  # noqa: E402
from datatrove.utils.hashing import HashConfig  # noqa: E402
from loguru import logger  # noqa: E402

from curation.dedup import NearDedupSection  # noqa: E402
from curation.dedup.minhash import PAIR, MinhashClusterKeepFirst, ShingleMinhashSignature, Shingling  # noqa: E402
from curation.dedup.shingles import BottomKSketcher, sketch_similarity, text_ngrams  # noqa: E402

# common characters and words so jieba finds real words; sentences from a small vocabulary
WORDS = ("我们 今天 天气 很好 北京 上海 学习 工作 经济 发展 社会 文化 历史 科学 技术 研究 政府 公司 市场 "
         "教育 学生 老师 问题 方法 结果 时间 国家 人民 世界 中国 城市 生活 环境 保护 能源 数据 模型 语言").split()


def corpus(n_docs: int, n_chars: int, seed: int = 0) -> tuple[list[Document], set[tuple[int, int]]]:
    rng = random.Random(seed)
    docs, planted = [], set()

    def sentence():
        return "".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))) + rng.choice("，。；！")

    for _ in range(n_docs):
        text = ""
        while len(text) < n_chars:
            text += sentence()
        docs.append(text)
    for i in range(0, n_docs, 10):  # every 10th document gets a near duplicate: one sentence replaced
        parts = docs[i].split("。")
        parts[len(parts) // 2] = sentence()
        docs.append("。".join(parts))
        planted.add((i, len(docs) - 1))
    return [Document(text=t, id=str(k)) for k, t in enumerate(docs)], planted


def time_signatures(step, docs) -> float:
    start = time.perf_counter()
    for _ in step.run(iter(docs), rank=0, world_size=1) or []:  # stock's run() is not a generator
        pass
    return time.perf_counter() - start


def run_buckets(sig_folder: str, out: str, config: MinhashConfig) -> None:
    for bucket in range(config.num_buckets):
        for _ in MinhashDedupBuckets(sig_folder, out, config=config).run(None, rank=bucket, world_size=config.num_buckets) or []:
            pass


def candidate_pairs(dups_folder: str) -> set[tuple[int, int]]:
    """What datatrove's bucket stage reports (stock has no verification: these are its duplicates)."""
    found = set()
    for file in Path(dups_folder).glob("*.dups"):
        for _f1, d1, _f2, d2 in struct.iter_unpack("<4I", file.read_bytes()):
            found.add((min(d1, d2), max(d1, d2)))
    return found


def verified_pairs(clusters_folder: str, similarity: float | None) -> set[tuple[int, int]]:
    """Our near duplicates: the candidate pairs whose sketches estimate a similarity >= similarity."""
    pairs = np.fromfile(Path(clusters_folder) / "candidates.pairs", dtype=PAIR)
    if similarity is not None:
        pairs = pairs[pairs["similarity"] >= similarity]
    return set(zip(pairs["doc_a"].tolist(), pairs["doc_b"].tolist(), strict=True))


def run_seed(args, seed: int) -> dict:
    docs, planted = corpus(args.docs, args.chars, seed)
    mb = sum(len(d.text.encode()) for d in docs) / 1e6
    # stock: datatrove defaults (5-grams, 14 buckets x 8 hashes, 64-bit) except the shingle hash: its default
    # xxhash path raises "Strings must be encoded before hashing" with the installed xxhash, so it uses sha1
    stock_config = MinhashConfig(hash_config=HashConfig(precision=64, hash_fc="sha1"))
    ours_config = MinhashConfig(num_buckets=args.bands, hashes_per_bucket=args.rows, hash_config=HashConfig(precision=64))
    with tempfile.TemporaryDirectory() as tmp:
        ours = ShingleMinhashSignature(f"{tmp}/ours", ours_config, Shingling("chars", args.ngram), sketch_size=args.sketch)
        stock = MinhashDedupSignature(f"{tmp}/stock", config=stock_config, language="zh")
        stock.get_shingles("预热")  # load jieba's dictionary outside the timing
        text_ngrams("预热", "chars", args.ngram)  # and build our normalisation table
        t_ours = time_signatures(ours, docs)
        t_stock = time_signatures(stock, docs)
        start = time.perf_counter()
        run_buckets(f"{tmp}/ours", f"{tmp}/ours_dups", ours_config)
        cluster = MinhashClusterKeepFirst(f"{tmp}/ours_dups", f"{tmp}/ours_clusters", f"{tmp}/ours", args.similarity)
        for _ in cluster.run():
            pass
        t_ours_rest = time.perf_counter() - start
        start = time.perf_counter()
        run_buckets(f"{tmp}/stock", f"{tmp}/stock_dups", stock_config)
        t_stock_rest = time.perf_counter() - start
        candidates = candidate_pairs(f"{tmp}/ours_dups")
        ours_pairs = verified_pairs(f"{tmp}/ours_clusters", args.similarity)
        stock_pairs = candidate_pairs(f"{tmp}/stock_dups")
        estimates = np.fromfile(f"{tmp}/ours_clusters/candidates.pairs", dtype=PAIR)
        estimate = {(int(p["doc_a"]), int(p["doc_b"])): float(p["similarity"]) for p in estimates}
    missed = []  # stock's pairs that ours does not remove, and why: their exact similarities
    for a, b in sorted(stock_pairs - ours_pairs):
        ours_j = jaccard(text_ngrams(docs[a].text, "chars", args.ngram), text_ngrams(docs[b].text, "chars", args.ngram))
        stock_j = jaccard(np.asarray(stock.get_shingles(docs[a].text)).ravel(),
                          np.asarray(stock.get_shingles(docs[b].text)).ravel())
        missed.append({"pair": f"{a}-{b}", "ours_exact": ours_j, "ours_estimate": estimate.get((a, b)),
                       "stock_exact": stock_j, "stock_probability": 1 - (1 - stock_j**8) ** 14})
    return {
        "missed": missed,
        "seed": seed, "docs": len(docs), "mb": mb, "planted": len(planted),
        "ours_s": t_ours, "stock_s": t_stock, "ours_rest_s": t_ours_rest, "stock_rest_s": t_stock_rest,
        "candidates": len(candidates),
        "ours_planted": len(ours_pairs & planted),
        "ours_unplanted": len(ours_pairs - planted),
        "stock_planted": len(stock_pairs & planted),
        "stock_unplanted": len(stock_pairs - planted),
        "stock_missed_by_ours": len(stock_pairs - ours_pairs),
        "stock_pairs": len(stock_pairs),
    }


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.unique(a), np.unique(b)
    return len(np.intersect1d(a, b)) / len(np.union1d(a, b))


def expected_misses(args, seed: int, thresholds=(0.5, 0.55, 0.6, 0.65), salts: int = 200) -> None:
    """From the exact similarities of the planted pairs (character n-grams for ours, jieba word 5-grams
    for stock): how many pairs each is expected to find, and how many of stock's ours is expected to
    miss, per verification threshold. Stock finds a pair with probability 1 - (1 - s^8)^14; ours when it
    is a candidate (the same formula with our bands) and its sketch estimate reaches the threshold, a
    probability measured over `salts` sketch hash functions."""
    docs, planted = corpus(args.docs, args.chars, seed)
    stock = MinhashDedupSignature("unused", config=MinhashConfig(hash_config=HashConfig(precision=64, hash_fc="sha1")),
                                  language="zh")
    sketchers = [BottomKSketcher(args.sketch, seed=salt) for salt in range(salts)]
    ours_j, stock_j, estimates = [], [], []
    for i, j in sorted(planted):
        a, b = docs[i].text, docs[j].text
        sa, sb = text_ngrams(a, "chars", args.ngram), text_ngrams(b, "chars", args.ngram)
        ours_j.append(jaccard(sa, sb))
        stock_j.append(jaccard(np.asarray(stock.get_shingles(a)).ravel(), np.asarray(stock.get_shingles(b)).ravel()))
        pair = np.stack([sketcher.sketches([sa, sb]) for sketcher in sketchers])  # (salts, 2, k)
        estimates.append(sketch_similarity(pair[:, 0], pair[:, 1]))

    def candidate(s: float, bands: int, rows: int) -> float:
        return 1 - (1 - s**rows) ** bands

    spread = [float(np.std(e)) for e in estimates]
    p_stock = [candidate(s, 14, 8) for s in stock_j]
    print(f"seed {seed}: {len(planted)} planted pairs; exact Jaccard ours (char {args.ngram}-grams) "
          f"min {min(ours_j):.3f} median {np.median(ours_j):.3f}, stock (jieba word 5-grams) min {min(stock_j):.3f} "
          f"median {np.median(stock_j):.3f}; ours - stock per pair >= {min(o - w for o, w in zip(ours_j, stock_j, strict=True)):.3f}; "
          f"sketch estimate ({args.sketch} values) standard deviation median {np.median(spread):.4f} max {max(spread):.4f}")
    print(f"| similarity | expected planted found by ours | by stock | expected stock pairs ours misses "
          f"({args.bands} x {args.rows} bands, sketch {args.sketch}, {salts} salts) |")
    print("|---|---|---|---|")
    for threshold in thresholds:
        p_ours = [candidate(s, args.bands, args.rows) * float(np.mean(e >= threshold))
                  for s, e in zip(ours_j, estimates, strict=True)]
        missed = sum(ps * (1 - po) for ps, po in zip(p_stock, p_ours, strict=True))
        print(f"| {threshold} | {sum(p_ours):.1f} | {sum(p_stock):.1f} | {missed:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--chars", type=int, default=800)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one corpus per seed")
    defaults = NearDedupSection()
    parser.add_argument("--ngram", type=int, default=defaults.zh_ngram, help="our character n-gram size")
    parser.add_argument("--bands", type=int, default=defaults.num_buckets, help="our LSH bands")
    parser.add_argument("--rows", type=int, default=defaults.hashes_per_bucket, help="our LSH rows per band")
    parser.add_argument("--sketch", type=int, default=defaults.sketch_size, help="our bottom-k sketch size")
    parser.add_argument("--similarity", type=float, default=defaults.zh_similarity, help="our verification threshold; <= 0: none")
    parser.add_argument("--expected", action="store_true", help="expected finds and misses from exact similarities instead")
    args = parser.parse_args()
    logger.remove()  # datatrove logs every bucket it opens
    logger.add(sys.stderr, level="WARNING")
    if args.expected:
        for seed in args.seeds:
            expected_misses(args, seed)
        return
    if args.similarity is not None and args.similarity <= 0:
        args.similarity = None
    results = [run_seed(args, seed) for seed in args.seeds]
    print(f"ours: char {args.ngram}-grams, {args.bands} bands x {args.rows} rows, verified at similarity {args.similarity} "
          f"on {args.sketch}-value sketches; "
          "stock: datatrove zh (jieba words), 14 bands x 8 rows, no verification")
    print("| seed | docs | MB | signatures ours s | stock s | ours MB/s/core | stock MB/s/core | speed-up | "
          "buckets+clusters ours s | buckets stock s | planted found ours | stock | not planted ours | stock | "
          "stock pairs ours misses |")
    print("|" + "---|" * 15)
    for r in results:
        print(f"| {r['seed']} | {r['docs']} | {r['mb']:.2f} | {r['ours_s']:.2f} | {r['stock_s']:.2f} | "
              f"{r['mb'] / r['ours_s']:.2f} | {r['mb'] / r['stock_s']:.2f} | {r['stock_s'] / r['ours_s']:.1f}x | "
              f"{r['ours_rest_s']:.2f} | {r['stock_rest_s']:.2f} | {r['ours_planted']}/{r['planted']} | "
              f"{r['stock_planted']}/{r['planted']} | {r['ours_unplanted']} | {r['stock_unplanted']} | "
              f"{r['stock_missed_by_ours']} of {r['stock_pairs']} |")
    print(f"candidate pairs from our bands (before verification): {[r['candidates'] for r in results]}")
    missed = [(r["seed"], m) for r in results for m in r["missed"]]
    if missed:
        print("\nstock pairs ours misses (exact Jaccard from the shingle sets; stock finds a pair with probability "
              "1 - (1 - s^8)^14):")
        print("| seed | pair | exact char n-gram Jaccard | our sketch estimate (none: not a candidate) | "
              "jieba word 5-gram Jaccard | probability stock finds it |")
        print("|---|---|---|---|---|---|")
        for seed, m in missed:
            est = "none" if m["ours_estimate"] is None else f"{m['ours_estimate']:.3f}"
            print(f"| {seed} | {m['pair']} | {m['ours_exact']:.3f} | {est} | {m['stock_exact']:.3f} | "
                  f"{m['stock_probability']:.3f} |")


if __name__ == "__main__":
    main()
