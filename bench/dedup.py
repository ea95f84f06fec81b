"""MinHash signatures on Chinese text: ours (character n-grams, numpy, batched) vs stock datatrove
`MinhashDedupSignature(language="zh")` (jieba words), on the same synthetic corpus with planted near
duplicates; then both signature sets go through datatrove's bucket stage and the duplicates each finds
are compared. Single process, so MB/s is per core.

    python bench/dedup.py --docs 2000 --chars 800
"""

from __future__ import annotations

import argparse
import random
import struct
import tempfile
import time
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets, MinhashDedupSignature
from datatrove.utils.hashing import HashConfig

from curation.dedup.minhash import ShingleConfig, ShingleMinhashSignature

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


def pairs_found(sig_folder: str, out: str, config: MinhashConfig) -> set[tuple[int, int]]:
    for bucket in range(config.num_buckets):
        for _ in MinhashDedupBuckets(sig_folder, out, config=config).run(None, rank=bucket, world_size=config.num_buckets) or []:
            pass
    found = set()
    for file in Path(out).glob("*.dups"):
        data = file.read_bytes()
        for _f1, d1, _f2, d2 in struct.iter_unpack("<4I", data):
            found.add((min(d1, d2), max(d1, d2)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--chars", type=int, default=800)
    parser.add_argument("--ngram", type=int, default=5, help="our character n-gram size")
    args = parser.parse_args()
    docs, planted = corpus(args.docs, args.chars)
    mb = sum(len(d.text.encode()) for d in docs) / 1e6
    # datatrove defaults (5-grams, 14 buckets x 8 hashes, 64-bit) except the shingle hash: its default xxhash
    # path raises "Strings must be encoded before hashing" with the installed xxhash, so stock uses sha1
    config = MinhashConfig(hash_config=HashConfig(precision=64, hash_fc="sha1"))
    with tempfile.TemporaryDirectory() as tmp:
        ours = ShingleMinhashSignature(f"{tmp}/ours", config, ShingleConfig("chars", args.ngram))
        stock = MinhashDedupSignature(f"{tmp}/stock", config=config, language="zh")
        stock.get_shingles("预热")  # load jieba's dictionary outside the timing
        t_ours = time_signatures(ours, docs)
        t_stock = time_signatures(stock, docs)
        found_ours = pairs_found(f"{tmp}/ours", f"{tmp}/ours_dups", config)
        found_stock = pairs_found(f"{tmp}/stock", f"{tmp}/stock_dups", config)
    print(f"corpus: {len(docs)} docs, {mb:.2f} MB of Chinese, {len(planted)} planted near-duplicate pairs")
    print(f"{'':24}{'seconds':>10}{'MB/s/core':>12}{'pairs':>8}{'planted found':>15}")
    for name, t, found in ((f"ours (char {args.ngram}-grams)", t_ours, found_ours), ("datatrove zh (jieba)", t_stock, found_stock)):
        print(f"{name:24}{t:10.2f}{mb / t:12.2f}{len(found):8d}{len(found & planted):>10d}/{len(planted)}")
    print(f"speed-up: {t_stock / t_ours:.1f}x; pairs stock finds that ours misses: {len(found_stock - found_ours)}; "
          f"pairs only ours finds: {len(found_ours - found_stock)} (of which planted: {len((found_ours - found_stock) & planted)})")


if __name__ == "__main__":
    main()
