"""Build the real-text set from the installed Debian documentation packages.

    python -m realtext.build [--out DIR]      (default work/realtext)

Writes zh_docs.jsonl, en_docs.jsonl (id, text, origin, kind), pairs.jsonl (id, zh, en, origin,
kind), instruct.jsonl (id, messages, language, origin, kind; also split by language into instruct_zh.jsonl
and instruct_en.jsonl) and build.json (package versions and
counts). Same ids and text on every run for the same package versions: pages are read in sorted
order and every corruption is seeded by the item id.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from realtext import PACKAGES, RealTextMissing, missing_packages
from realtext.corrupt import DOC_CORRUPTIONS, rng, truncate_mid_word
from realtext.extract import Block, blocks_text, page_blocks, sections

DEFAULT_OUT = Path("work/realtext")
# corrupted documents per corruption kind: with the labelled real documents, each set is about half junk
CORRUPTED_PER_KIND = {"zh": 20, "en": 25}
MIN_CJK_SHARE = 0.6  # a zh document is corrupted only when its letters are mostly Chinese
PAIR_JUNK_PER_KIND = 32
INSTRUCT_JUNK_PER_KIND = 12  # per language

HANDBOOK = Path("/usr/share/doc/debian-handbook/html")
FOREIGN_FOR = {"zh": ("ja-JP", "ko-KR", "en-US"), "en": ("fr-FR", "de-DE", "es-ES", "ru-RU", "zh-CN")}


@dataclass(frozen=True)
class Source:
    """One documentation set in one language: `pages` maps page name -> HTML path."""

    name: str  # id prefix, e.g. "debian-reference"
    package: str  # apt package, the `origin` field
    language: str
    pages: dict[str, Path]


def _pages(folder: Path, pattern: str, suffix: str) -> dict[str, Path]:
    found = sorted(folder.glob(pattern)) if folder.is_dir() else []
    return {path.name[: -len(suffix)]: path for path in found if path.name.endswith(suffix)}


def sources() -> dict[str, list[Source]]:
    """The documentation sets per language ("zh", "en"); the page names match across languages."""
    faq = Path("/usr/share/doc/debian/FAQ")
    reference = Path("/usr/share/debian-reference")
    gimp = Path("/usr/share/gimp/2.0/help")
    edu = Path("/usr/share/doc")
    return {
        "zh": [
            Source(
                "debian-reference",
                "debian-reference-zh-cn",
                "zh",
                _pages(reference, "*.zh-cn.html", ".zh-cn.html"),
            ),
            Source(
                "debian-faq", "debian-faq-zh-cn", "zh", _pages(faq / "zh-cn", "*.zh-cn.html", ".zh-cn.html")
            ),
            Source(
                "maint-guide",
                "maint-guide-zh-cn",
                "zh",
                _pages(edu / "maint-guide-zh-cn/html", "*.zh-cn.html", ".zh-cn.html"),
            ),
            Source("debian-handbook", "debian-handbook", "zh", _pages(HANDBOOK / "zh-CN", "*.html", ".html")),
            Source("gimp-help", "gimp-help-zh-cn", "zh", _pages(gimp / "zh_CN", "*.html", ".html")),
            Source(
                "debian-edu-doc",
                "debian-edu-doc-zh-cn",
                "zh",
                _pages(edu / "debian-edu-doc-zh-cn", "debian-edu-*-manual.html", ".html"),
            ),
        ],
        "en": [
            Source(
                "debian-reference", "debian-reference-en", "en", _pages(reference, "*.en.html", ".en.html")
            ),
            Source("debian-faq", "debian-faq", "en", _pages(faq, "*.en.html", ".en.html")),
            Source(
                "maint-guide", "maint-guide", "en", _pages(edu / "maint-guide/html", "*.en.html", ".en.html")
            ),
            Source("debian-handbook", "debian-handbook", "en", _pages(HANDBOOK / "en-US", "*.html", ".html")),
            Source("gimp-help", "gimp-help-en", "en", _pages(gimp / "en", "*.html", ".html")),
            Source(
                "debian-edu-doc",
                "debian-edu-doc-en",
                "en",
                _pages(edu / "debian-edu-doc-en", "debian-edu-*-manual.html", ".html"),
            ),
        ],
    }


_BLOCK_CACHE: dict[Path, list[Block]] = {}


def blocks_of(path: Path) -> list[Block]:
    if path not in _BLOCK_CACHE:
        _BLOCK_CACHE[path] = page_blocks(path.read_text(encoding="utf-8", errors="replace"))
    return _BLOCK_CACHE[path]


def _order(item_id: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}\0{item_id}".encode()).hexdigest()


def spread(items: list[dict], count: int, salt: str, key: str = "origin") -> list[dict]:
    """`count` items taken round-robin over `key` groups, each group in a seeded order."""
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item[key], []).append(item)
    queues = [sorted(group, key=lambda i: _order(i["id"], salt)) for _, group in sorted(groups.items())]
    out: list[dict] = []
    while len(out) < count and any(queues):
        for queue in queues:
            if queue and len(out) < count:
                out.append(queue.pop(0))
    return out


# --- documents -------------------------------------------------------------------------------


def real_documents(language: str) -> list[dict]:
    docs = []
    for source in sources()[language]:
        for page, path in source.pages.items():
            for section in sections(blocks_of(path)):
                text = section.text
                if len(text) < 40:
                    continue
                docs.append(
                    {
                        "id": f"{source.name}/{page}#{section.anchor}",
                        "text": text,
                        "origin": source.package,
                        "kind": "real",
                    }
                )
    return docs


# a translated handbook section keeps at most this share of its prose characters identical to en-US
MAX_UNTRANSLATED_SHARE = 0.2


def untranslated_share(section, original: set[str]) -> float:
    """Share of the section's prose characters (paragraphs, list items, definitions; code and tables
    are the same in every language) in blocks identical to the en-US page's blocks: partly translated
    handbook pages keep English paragraphs, which are not the wrong language."""
    body = [block for block in section.blocks if block.kind in ("p", "li", "dt")]
    total = sum(len(block.text) for block in body)
    return sum(len(block.text) for block in body if block.text in original) / max(1, total)


def foreign_documents(language: str) -> list[dict]:
    """Real debian-handbook sections in other languages, for the wrong_language junk; sections that
    are mostly the untranslated English original are left out (they are not in another language)."""
    out = []
    for locale in FOREIGN_FOR[language]:
        for path in sorted((HANDBOOK / locale).glob("sect.*.html")):
            english = HANDBOOK / "en-US" / path.name
            original = {b.text for b in blocks_of(english)} if locale != "en-US" and english.exists() else set()
            for section in sections(blocks_of(path)):
                if (section.anchor != "toc" and 500 <= len(section.text) <= 4000
                        and untranslated_share(section, original) <= MAX_UNTRANSLATED_SHARE):
                    out.append(
                        {
                            "id": f"debian-handbook/{locale}/{path.stem}#{section.anchor}@wrong_language",
                            "text": section.text,
                            "origin": f"debian-handbook:{locale}",
                            "kind": "wrong_language",
                            "detail": f"wrong_language: a real {locale} "
                            f"debian-handbook section in the {language} set",
                        }
                    )
    return out


def cjk_share(text: str) -> float:
    """Chinese characters / (Chinese characters + Latin letters)."""
    cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return cjk / max(1, cjk + latin)


def corrupted_documents(real: list[dict], language: str) -> list[dict]:
    out = []
    count = CORRUPTED_PER_KIND[language]
    candidates = [
        doc
        for doc in real
        if 400 <= len(doc["text"]) <= 5000
        and not doc["id"].endswith("#toc")
        and (language != "zh" or cjk_share(doc["text"]) >= MIN_CJK_SHARE)
    ]
    for kind, function in DOC_CORRUPTIONS.items():
        pool = candidates
        if kind == "mojibake" and language == "en":
            pool = [doc for doc in candidates if sum(ord(c) > 127 for c in doc["text"]) >= 20]
        for doc in spread(pool, count, kind):
            text, detail = function(doc["text"], doc["id"])
            out.append(
                {
                    "id": f"{doc['id']}@{kind}",
                    "text": text,
                    "origin": doc["origin"],
                    "kind": kind,
                    "detail": detail,
                }
            )
    foreign = foreign_documents(language)
    out += spread(foreign, count, "wrong_language")
    return out


# --- pairs -----------------------------------------------------------------------------------


def _raw_sections(blocks: list[Block]) -> dict[str, list[Block]]:
    """Blocks grouped under each heading anchor, without merging (for alignment)."""
    out: dict[str, list[Block]] = {}
    current = "top"
    for block in blocks:
        if block.kind == "toc":
            continue
        if block.kind == "heading":
            current = block.anchor or current
        out.setdefault(current, []).append(block)
    return out


def _same_shape(a: list[Block], b: list[Block]) -> bool:
    return len(a) == len(b) and all(x.kind == y.kind for x, y in zip(a, b, strict=True))


def real_pairs() -> list[dict]:
    """Blocks of the zh and en version of the same page, aligned by heading anchor and then by
    block order, only where both sections have the same sequence of block kinds. <pre> blocks are
    left out (same code on both sides). Table cells are paired when both rows have as many cells
    (only translated cells: the zh cell has Chinese and differs from the en cell). GUI labels (<guimenu>, <guilabel>...) are paired when the
    aligned blocks carry the same number of them."""
    by_name = {source.name: source for source in sources()["en"]}
    pairs: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for zh_source in sources()["zh"]:
        en_source = by_name[zh_source.name]
        origin = (
            f"{zh_source.package}+{en_source.package}"
            if zh_source.package != en_source.package
            else zh_source.package
        )
        for page, zh_path in zh_source.pages.items():
            en_path = en_source.pages.get(page)
            if en_path is None:
                continue
            zh_sections, en_sections = _raw_sections(blocks_of(zh_path)), _raw_sections(blocks_of(en_path))
            for anchor, zh_blocks in zh_sections.items():
                en_blocks = en_sections.get(anchor)
                if en_blocks is None or not _same_shape(zh_blocks, en_blocks):
                    continue
                for number, (zh, en) in enumerate(zip(zh_blocks, en_blocks, strict=True)):
                    base = f"{zh_source.name}/{page}#{anchor}/b{number}"
                    if zh.kind != "pre" and (zh.text, en.text) not in seen:
                        seen.add((zh.text, en.text))
                        pairs.append(
                            {
                                "id": base,
                                "zh": zh.text,
                                "en": en.text,
                                "origin": origin,
                                "kind": "real",
                                "block": zh.kind,
                            }
                        )
                    if zh.kind == "row" and zh.text.count(" | ") == en.text.count(" | ") > 0:
                        cells = zip(zh.text.split(" | "), en.text.split(" | "), strict=True)
                        for index, (zh_cell, en_cell) in enumerate(cells):
                            if zh_cell != en_cell and _cjk(zh_cell) and (zh_cell, en_cell) not in seen:
                                seen.add((zh_cell, en_cell))
                                pairs.append(
                                    {
                                        "id": f"{base}/cell{index}",
                                        "zh": zh_cell,
                                        "en": en_cell,
                                        "origin": origin,
                                        "kind": "real",
                                        "block": "cell",
                                    }
                                )
                    if len(zh.gui) == len(en.gui):
                        for index, (zh_label, en_label) in enumerate(zip(zh.gui, en.gui, strict=True)):
                            if (zh_label, en_label) not in seen:
                                seen.add((zh_label, en_label))
                                pairs.append(
                                    {
                                        "id": f"{base}/gui{index}",
                                        "zh": zh_label,
                                        "en": en_label,
                                        "origin": origin,
                                        "kind": "real",
                                        "block": "gui",
                                    }
                                )
    return pairs


def _cjk(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def corrupted_pairs(real: list[dict]) -> list[dict]:
    """Junk pairs made from confident real pairs (see docs/real_text.md)."""
    translated = [
        p
        for p in real
        if _cjk(p["zh"]) and p["zh"] != p["en"] and p["block"] != "gui" and 20 <= len(p["en"]) <= 1500
    ]
    following = {a["id"]: b for a, b in zip(translated, translated[1:], strict=False)}
    out = []
    for pair in spread(translated, PAIR_JUNK_PER_KIND, "misaligned"):
        nxt = following.get(pair["id"])
        if nxt is None or nxt["en"] == pair["en"]:
            continue
        out.append(
            {
                **pair,
                "id": pair["id"] + "@misaligned",
                "en": nxt["en"],
                "kind": "misaligned",
                "detail": f"misaligned: en side is the next aligned block's ({nxt['id']})",
            }
        )
    for pair in spread(translated, PAIR_JUNK_PER_KIND, "untranslated"):
        out.append(
            {
                **pair,
                "id": pair["id"] + "@untranslated",
                "zh": pair["en"],
                "kind": "untranslated",
                "detail": "untranslated: zh side is a copy of the English text",
            }
        )
    for pair in spread(translated, PAIR_JUNK_PER_KIND, "same_language"):
        nxt = following.get(pair["id"], pair)
        out.append(
            {
                **pair,
                "id": pair["id"] + "@same_language",
                "en": nxt["zh"],
                "kind": "same_language",
                "detail": "same_language: en side replaced by Chinese text (the next block's zh side)",
            }
        )
    for pair in spread([p for p in translated if len(p["en"]) >= 60], PAIR_JUNK_PER_KIND, "truncated"):
        en = truncate_mid_word(pair["en"], pair["id"], 0.35)
        out.append(
            {
                **pair,
                "id": pair["id"] + "@truncated",
                "en": en,
                "kind": "truncated",
                "detail": f"truncated: en side cut to its first {len(en)} of {len(pair['en'])} characters",
            }
        )
    return out


# --- instruction records ---------------------------------------------------------------------

QUESTION = re.compile(r"[?？]\s*$")
NUMBER = re.compile(r"^(?:第\s*\d+\s*章\s*|Chapter\s+\d+\.\s*|[\dA-Z]+(?:\.\d+)*\.\s+)")


def real_instructions(language: str) -> list[dict]:
    """debian-faq sections whose heading is a question: the question (without its number) is
    the user turn, the section's text up to the next heading the assistant turn."""
    out = []
    for source in sources()[language]:
        if source.name != "debian-faq":
            continue
        for page, path in source.pages.items():
            blocks = [b for b in blocks_of(path) if b.kind != "toc"]
            for index, block in enumerate(blocks):
                if block.kind != "heading" or not QUESTION.search(block.text):
                    continue
                answer: list[Block] = []
                for following in blocks[index + 1 :]:
                    if following.kind == "heading":
                        break
                    answer.append(following)
                if not answer:
                    continue
                question = NUMBER.sub("", block.text).strip()
                out.append(
                    {
                        "id": f"{language}/debian-faq/{page}#{block.anchor}",
                        "language": language,
                        "messages": [
                            {"role": "user", "content": question},
                            {"role": "assistant", "content": blocks_text(answer)},
                        ],
                        "origin": source.package,
                        "kind": "real",
                    }
                )
    return out


def corrupted_instructions(real: list[dict], language: str) -> list[dict]:
    out = []
    ordered = sorted(real, key=lambda r: r["id"])
    other = {r["id"]: ordered[(i + 7) % len(ordered)] for i, r in enumerate(ordered)}
    longer = [r for r in real if len(r["messages"][1]["content"]) >= 80]

    def record(base: dict, kind: str, answer: str, detail: str) -> dict:
        messages = [base["messages"][0], {"role": "assistant", "content": answer}]
        return {**base, "id": f"{base['id']}@{kind}", "messages": messages, "kind": kind, "detail": detail}

    for r in spread(longer, INSTRUCT_JUNK_PER_KIND, "cut_answer"):
        answer = r["messages"][1]["content"]
        cut = truncate_mid_word(answer, r["id"], 0.3)
        out.append(
            record(
                r,
                "cut_answer",
                cut,
                f"cut_answer: answer cut mid-word at {len(cut)} of {len(answer)} characters",
            )
        )
    for r in spread(real, INSTRUCT_JUNK_PER_KIND, "wrong_answer"):
        donor = other[r["id"]]
        out.append(
            record(
                r,
                "wrong_answer",
                donor["messages"][1]["content"],
                f"wrong_answer: the answer of another question ({donor['id']})",
            )
        )
    for r in spread(real, INSTRUCT_JUNK_PER_KIND, "empty_answer"):
        answer = r["messages"][1]["content"]
        stub = answer[: 1 + rng(r["id"], "empty").randint(0, 2)].strip() or answer[:1]
        out.append(record(r, "empty_answer", stub, f"empty_answer: answer reduced to {stub!r}"))
    for r in spread(real, INSTRUCT_JUNK_PER_KIND, "repeated_answer"):
        answer = r["messages"][1]["content"]
        first = answer.split("\n\n")[0]
        times = rng(r["id"], "repeat").randint(6, 12)
        out.append(
            record(
                r,
                "repeated_answer",
                "\n\n".join([first] * times),
                f"repeated_answer: the answer's first paragraph repeated {times} times",
            )
        )
    return out


def wrong_language_instructions(zh: list[dict], en: list[dict]) -> list[dict]:
    """A zh question answered by the en answer of the same FAQ entry, and the reverse."""
    out = []
    by_entry = {"zh": {r["id"][3:]: r for r in zh}, "en": {r["id"][3:]: r for r in en}}
    for language, records in (("zh", zh), ("en", en)):
        other = by_entry["en" if language == "zh" else "zh"]
        for r in spread(
            [r for r in records if r["id"][3:] in other], INSTRUCT_JUNK_PER_KIND, "wrong_language"
        ):
            donor = other[r["id"][3:]]
            out.append(
                {
                    **r,
                    "id": f"{r['id']}@wrong_language",
                    "messages": [r["messages"][0], donor["messages"][1]],
                    "kind": "wrong_language",
                    "detail": f"wrong_language: the {language} question answered in {donor['language']} "
                    "(same FAQ entry)",
                }
            )
    return out


# --- build -----------------------------------------------------------------------------------


def package_versions() -> dict[str, str]:
    try:
        result = subprocess.run(["dpkg-query", "-W", *PACKAGES], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return {}
    return dict(line.split("\t", 1) for line in result.stdout.splitlines() if "\t" in line)


def _write(path: Path, items: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")


def _counts(items: list[dict]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for item in items:
        out.setdefault(item["origin"], {}).setdefault(item["kind"], 0)
        out[item["origin"]][item["kind"]] += 1
    return {origin: dict(sorted(kinds.items())) for origin, kinds in sorted(out.items())}


def build(out: Path) -> dict[str, list[dict]]:
    """Extract, align, corrupt and write every set under `out`; returns the sets."""
    absent = missing_packages()
    if absent:
        raise RealTextMissing(
            f"the Debian documentation packages are not installed: apt-get install {' '.join(absent)}"
        )
    sets: dict[str, list[dict]] = {}
    for language in ("zh", "en"):
        real = real_documents(language)
        sets[f"{language}_docs"] = real + corrupted_documents(real, language)
    pairs = real_pairs()
    sets["pairs"] = pairs + corrupted_pairs(pairs)
    instructions = {language: real_instructions(language) for language in ("zh", "en")}
    sets["instruct"] = instructions["zh"] + instructions["en"]
    for language in ("zh", "en"):
        sets["instruct"] += corrupted_instructions(instructions[language], language)
    sets["instruct"] += wrong_language_instructions(instructions["zh"], instructions["en"])
    out.mkdir(parents=True, exist_ok=True)
    for name, items in sets.items():
        _write(out / f"{name}.jsonl", items)
    for language in ("zh", "en"):  # the reproductions' Chinese and English instruction sources (recipes/repro_real.yaml)
        _write(out / f"instruct_{language}.jsonl", [item for item in sets["instruct"] if item["language"] == language])
    manifest = {
        "packages": package_versions(),
        "counts": {name: _counts(items) for name, items in sets.items()},
    }
    (out / "build.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realtext.build", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default work/realtext)")
    args = parser.parse_args(argv)
    try:
        sets = build(args.out)
    except RealTextMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, items in sets.items():
        print(f"{name}: {len(items)} items -> {args.out / (name + '.jsonl')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
