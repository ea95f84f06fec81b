"""Near dedup of short Chinese texts (10-49 characters after normalisation) on REAL strings: headings,
UI strings and sentences from the installed Chinese documentation (GIMP help, Debian reference). Runs the
real `dedup` stage (near dedup only, the recipe defaults unless given) and prints:

- recall: for N real short texts, a copy with one Han character substituted (or inserted, or deleted),
  each copy in one run with all N originals: the share of copies removed as a duplicate of their original;
- false merges: every removal in those runs of a copy or original for a text it was not made from; the
  originals merged with each other are counted apart (real texts that are near duplicates already, such
  as a table caption with and without its "表 12.8." label);
- template pairs: pairs of DISTINCT real texts that share a template (common prefix + suffix at least half
  of the shorter text, at least 2 edits apart, neither the other with a label or clause added before or
  after it: "打开文件对话框" / "保存文件对话框"), all in one run: how many pairs were merged (any is a false
  merge), and every removal in that run with what it names;
- real pairs one edit apart (e.g. "第三章" / "第四章" headings): merged by design at the short-text line,
  counted and shown so the line is visible.

    python bench/dedup_short_zh.py                      # N = 400, seed 0, recipe defaults
    python bench/dedup_short_zh.py --n 400 --seed 1 --near '{"zh_short_chars": 0}'   # short path off
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # not bench/: its files shadow packages and stdlib modules

from loguru import logger  # noqa: E402

SOURCES = ["/usr/share/gimp/2.0/help/zh_CN", "/usr/share/debian-reference"]
HAN = re.compile(r"[\u4e00-\u9fff]")
SENTENCE_END = re.compile(r"[。！？；\n]+| \| ")  # sentences, and the cells of table rows


def real_short_texts(min_chars: int = 10, max_chars: int = 49) -> list[str]:
    """Distinct (after normalisation) real Chinese strings of min_chars..max_chars normalised characters,
    mostly Han, from the installed documentation; sorted, so the sample depends only on the packages."""
    from curation.dedup.shingles import normalize
    from realtext.extract import page_blocks

    files = sorted(Path(SOURCES[0]).glob("*.html")) + sorted(Path(SOURCES[1]).glob("*.zh-cn.html"))
    if not files:
        raise SystemExit(f"no Chinese documentation under {SOURCES}: apt-get install gimp-help-zh-cn debian-reference-zh-cn")
    seen: dict[str, str] = {}
    for file in files:
        # the project's extractor (docs/real_text.md): headings, paragraphs, list items, table rows
        for run in (block.text for block in page_blocks(file.read_text(encoding="utf-8", errors="replace"))):
            for piece in SENTENCE_END.split(run):
                piece = piece.strip(" ，,：:")
                norm = normalize(piece, "chars")
                if min_chars <= len(norm) <= max_chars and len(HAN.findall(norm)) >= 0.6 * len(norm):
                    seen.setdefault(norm, piece)
    return sorted(seen.values())


def edits(a: str, b: str) -> int:
    """Levenshtein distance (for reporting)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def contains(longer: str, shorter: str) -> bool:
    """Whether `longer` is `shorter` with characters added before or after it (a label, a clause)."""
    return shorter in longer


def one_change(text: str, kind: str, rng: random.Random, pool: list[str]) -> str:
    """`text` with one Han character substituted by another, one inserted after a Han character, or one deleted."""
    positions = [i for i, ch in enumerate(text) if HAN.match(ch)]
    i = rng.choice(positions)
    if kind == "substitute":
        new = rng.choice([c for c in rng.sample(pool, 5) if c != text[i]])
        return text[:i] + new + text[i + 1 :]
    if kind == "insert":
        return text[: i + 1] + rng.choice(pool) + text[i + 1 :]
    return text[:i] + text[i + 1 :]


def template_pairs(texts: list[str], limit: int, rng: random.Random) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Pairs of distinct real texts sharing a template: a common prefix and suffix (on normalised text)
    covering at least half of the shorter one, neither the other with characters added before or after it
    ("表 2.5. X" / "X" is a near duplicate, not a template pair; a word added inside is another text). Returns (pairs at least 2 edits apart, pairs 1 edit apart)."""
    from curation.dedup.shingles import normalize

    norm = {t: normalize(t, "chars") for t in texts}
    groups: dict[tuple[str, str], list[str]] = {}
    for t in texts:
        groups.setdefault(("p", norm[t][:4]), []).append(t)
        groups.setdefault(("s", norm[t][-4:]), []).append(t)
    far, near = set(), set()
    for members in groups.values():
        if len(members) < 2 or len(members) > 200:
            continue
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                a, b = norm[members[x]], norm[members[y]]
                if a == b:
                    continue
                prefix = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
                suffix = next((k for k in range(min(len(a), len(b)) - prefix) if a[-1 - k] != b[-1 - k]),
                              min(len(a), len(b)) - prefix)
                if prefix + suffix < 0.5 * min(len(a), len(b)) or contains(a, b) or contains(b, a):
                    continue  # too little shared, or one is the other with something added (a label, a word)
                pair = tuple(sorted((members[x], members[y])))
                (near if edits(a, b) == 1 else far).add(pair)
    far_list = sorted(far)
    rng.shuffle(far_list)
    return far_list[:limit], sorted(near)


def run_stage(texts: list[str], near: dict, work: Path) -> dict[int, tuple[int, float]]:
    """The real dedup stage (near only) on one Chinese mono source; {removed index: (kept index, similarity)}."""
    from datatrove.data import Document

    import curation.dedup as dedup
    from common.documents import iter_excluded
    from common.recipe import Recipe
    from common.sources import load_sources
    from curation.config import load_curation
    from curation.io import documents_writer
    from curation.stages import StageContext

    folder = work / "in"
    with documents_writer(folder) as writer:
        for i, text in enumerate(texts):
            writer.write(Document(text=text, id=f"d{i:06d}", metadata={"kind": "mono", "language": "zh"}), 0)
    recipe = Recipe.from_dict({
        "workdir": "work",
        "sources": [{"kind": "mono", "name": "s", "language": "zh", "input": {"hub": "bench/s"}}],
        "dedup": {"exact": False, "near": near},
    }, root=work)
    ctx = StageContext(recipe=recipe, workdir=recipe.workdir, sources=load_sources(recipe), config=load_curation(recipe), workers=1)
    dedup.run(ctx, {"s": folder})
    excluded = ctx.excluded_dir("s", "near_dedup")
    removed = {}
    for e in (iter_excluded(excluded) if excluded.exists() else []):
        removed[int(e["id"][1:])] = (int(e["metadata"]["duplicate_of"][1:]), float(e["metadata"]["similarity"]))
    return removed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="real short texts that get a one-character copy")
    parser.add_argument("--pairs", type=int, default=400, help="template pairs of distinct real texts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--near", default="{}", help="JSON: recipe keys of dedup.near (default: the recipe defaults)")
    parser.add_argument("--show", type=int, default=8, help="examples of misses and merges to print")
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    near = json.loads(args.near)
    rng = random.Random(args.seed)
    texts = real_short_texts()
    pool = sorted({ch for t in texts for ch in t if HAN.match(ch)})
    sample = rng.sample(texts, min(args.n, len(texts)))
    far, near_pairs = template_pairs(texts, args.pairs, rng)
    lengths = sorted(len(t) for t in sample)
    print(f"{len(texts)} distinct real short texts (10-49 normalised characters); sample of {len(sample)}, "
          f"length median {lengths[len(lengths) // 2]}; near keys {near or 'defaults'}")
    print("| copies | found | recall | a copy or original merged with another text | originals merged with each other |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("substitute", "insert", "delete"):
            copies = [one_change(t, kind, rng, pool) for t in sample]
            docs = sample + copies
            removed = run_stage(docs, near, Path(tmp) / kind)
            n = len(sample)
            found = sum(1 for i in range(n) if removed.get(n + i, (None,))[0] == i)
            false = [(d, k) for d, (k, _) in removed.items() if not (d >= n and k == d - n) and (d >= n or k >= n)]
            alike = [(d, k) for d, (k, _) in removed.items() if d < n and k < n]
            print(f"| one character {kind.rstrip('e')}ed | {found}/{n} | {found / n:.1%} | {len(false)} | {len(alike)} |")
            missed = [i for i in range(n) if removed.get(n + i, (None,))[0] != i][: args.show]
            for i in missed:
                print(f"    missed: {sample[i]}  ->  {copies[i]}")
            for d, k in false[: args.show]:
                print(f"    false merge: {docs[d]}  ->  {docs[k]}")
            for d, k in alike[: args.show]:
                print(f"    originals merged: {docs[d]}  ->  {docs[k]}")
        for name, pairs in (("distinct, >= 2 edits apart", far), ("one edit apart (merged by design)", near_pairs)):
            unique = sorted({t for pair in pairs for t in pair})
            index = {t: i for i, t in enumerate(unique)}
            removed = run_stage(unique, near, Path(tmp) / name[:8].replace(" ", "_").replace(",", ""))
            merged = [(a, b) for a, b in pairs if removed.get(index[b], (None,))[0] == index[a]
                      or removed.get(index[a], (None,))[0] == index[b]]
            print(f"template pairs {name}: {len(pairs)} pairs ({len(unique)} texts in one run): {len(merged)} pairs merged, "
                  f"{len(removed)} texts removed")
            for a, b in merged[: args.show]:
                print(f"    merged: {a}  |  {b}")
            for d, (k, sim) in sorted(removed.items())[: args.show]:
                print(f"    removed: {unique[d]}  ->  {unique[k]}  (similarity {sim:.2f})")


if __name__ == "__main__":
    main()
