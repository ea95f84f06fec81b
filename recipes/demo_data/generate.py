#!/usr/bin/env python
"""Deterministic generator for the demo data set (recipes/demo_data).

    python recipes/demo_data/generate.py [--out DIR]

Writes small sample sources with planted, labelled problems for the curation
pipelines, plus a small "English-first" BPE tokenizer.  Everything is built from
the hand-written pools in pool_*.py with seeded RNGs; running it twice gives
byte-identical files (gzip mtime=0, no timestamps, fixed dataset fingerprint).

Dependencies: stdlib + datasets + tokenizers + pyarrow + zstandard.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep __pycache__ out of the data folder

from pool_misc import (  # noqa: E402
    CODE_JUNK,
    DE,
    EN_COOKIE_JS,
    EN_FOOTERS,
    EN_KEYWORDS,
    EN_SPAM_LINES,
    EN_SUBSCRIBE,
    EN_TOO_SHORT,
    FR,
    IDENTICAL_TEXTS,
    JA,
    KO,
    LOREM,
    QA_EN,
    QA_ZH,
    RU,
    SHORT_PAIRS,
    SYSTEM_EN,
    SYSTEM_ZH,
    URL_PAIRS,
    ZH_ADS,
    ZH_FOOTERS,
    ZH_KEYWORDS,
    ZH_NAV,
    ZH_REPEAT_CHARS,
    ZH_SPAM_LINES,
    ZH_TOO_SHORT,
)
from pool_s2t import S2T_BIGRAMS, S2T_CHARS  # noqa: E402
from pool_sentences import CITIES, DISHES, MONTHS, PERSONS, SPORTS, SUBJECTS, TOPICS  # noqa: E402
from pool_tech import (  # noqa: E402
    CODE_EXTRAS,
    TECH_CLOSERS_EN,
    TECH_CLOSERS_ZH,
    TECH_OPENERS_EN,
    TECH_OPENERS_ZH,
    TECH_UNITS,
)
from pool_wiki import WIKI_LEADS  # noqa: E402

SEED = 20240607
# Clean documents are rejected and redrawn when they share more than this
# fraction (Jaccard) of their 5-character shingles with an earlier clean document.
MAX_CLEAN_JACCARD = 0.2

ZH_WEB_COUNTS = {
    "wrong_language": 32, "spam": 32, "traditional": 20, "exact_dup": 20, "near_dup": 24,
    "mojibake": 8, "control_chars": 8, "too_short": 12, "mixed_zh_en_keep": 32,
}
ZH_WEB_TOTAL = 400
EN_WEB_COUNTS = {
    "wrong_language": 32, "spam": 32, "exact_dup": 20, "near_dup": 24, "too_short": 12,
    "tech_code_keep": 24,
}
EN_WEB_TOTAL = 400
WIKI_COUNTS = {"exact_dup_cross_source": 10, "traditional": 6, "too_short": 6}
WIKI_TOTAL = 200
PARALLEL_COUNTS = {
    "swapped": 10, "same_language": 10, "identical": 8, "copied": 8, "numbers_mismatch": 12,
    "url_mismatch": 6, "length_ratio": 10, "empty": 8, "too_long": 5, "too_short": 8, "dup_pair": 12,
}
PARALLEL_TOTAL = 400
INSTRUCT_PLANTED = {
    "instruct_alpaca.jsonl": {"empty_answer": 6, "truncated_answer": 6, "overlong": 4,
                              "duplicate_prompt": 8, "whitespace_only": 4},
    "instruct_sharegpt.jsonl": {"empty_answer": 4, "truncated_answer": 4, "overlong": 4,
                                "duplicate_prompt": 5, "whitespace_only": 4},
    "instruct_messages": {"empty_answer": 4, "truncated_answer": 4, "overlong": 4,
                          "duplicate_prompt": 5, "whitespace_only": 4},
}
INSTRUCT_TOTAL = {"instruct_alpaca.jsonl": 150, "instruct_sharegpt.jsonl": 100, "instruct_messages": 100}
OVERLONG_CHARS = 8000

# Labels whose documents should survive curation (possibly after a fix-up step).
KEEP_LABELS = {
    "traditional": "keep, after Traditional->Simplified conversion",
    "mixed_zh_en_keep": "keep: Chinese technical text with code/commands; language-ID thresholds must not drop it",
    "tech_code_keep": "keep: English technical text with code",
    "mojibake": "fix with ftfy (e.g. ftfy.fix_text), then keep",
    "control_chars": "strip the control characters, then keep",
}

S2T = {S2T_CHARS[i]: S2T_CHARS[i + 1] for i in range(0, len(S2T_CHARS), 2)}


def rng_for(name: str) -> random.Random:
    return random.Random(f"{SEED}:{name}")


# ---------------------------------------------------------------------------
# text helpers
# ---------------------------------------------------------------------------

SLOT_RE = re.compile(r"\{(\w+)\}")
SLOT_TABLES = {"city": CITIES, "city2": CITIES, "person": PERSONS, "dish": DISHES, "sport": SPORTS,
               "subject": SUBJECTS, "month": MONTHS}


def draw_slot(rng, name, vals):
    if name in SLOT_TABLES:
        while True:
            v = rng.choice(SLOT_TABLES[name])
            if name != "city2" or v != vals.get("city"):
                return v
    if name == "year":
        v = str(rng.randint(2008, 2023))
    elif name == "pct":
        v = str(rng.randint(5, 60))
    elif name == "num":
        v = str(rng.randint(2, 9))
    elif name == "big":
        v = str(rng.randint(120, 980))
    else:
        raise KeyError(name)
    return (v, v)


def slot_names(template):
    seen = []
    for n in SLOT_RE.findall(template):
        if n not in seen:
            seen.append(n)
    return seen


def cap_first(s):
    return s[:1].upper() + s[1:]


def fill_pair(rng, topic, idx, vals=None):
    """Fill one bilingual template. Returns (zh, en, vals)."""
    zh_t, en_t = TOPICS[topic][3][idx]
    vals = dict(vals or {})
    for n in slot_names(zh_t):
        if n not in vals:
            vals[n] = draw_slot(rng, n, vals)
    zh = zh_t.format(**{k: v[0] for k, v in vals.items()})
    en = cap_first(en_t.format(**{k: v[1] for k, v in vals.items()}))
    return zh, en, vals


def join_paras(paras, lang):
    sep = "" if lang == "zh" else " "
    return "\n".join(sep.join(p) for p in paras)


def shingles(text, k=5):
    return {text[i:i + k] for i in range(max(1, len(text) - k + 1))}


def jaccard(a, b):
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


class ShinglePool:
    """Previously accepted clean documents, for the near-duplicate rejection test."""

    def __init__(self, limit=MAX_CLEAN_JACCARD):
        self.sets = []
        self.limit = limit

    def ok(self, text):
        s = shingles(text)
        return all(jaccard(s, o) <= self.limit for o in self.sets), s

    def add(self, s):
        self.sets.append(s)


def to_traditional(text):
    out, i = [], 0
    while i < len(text):
        two = text[i:i + 2]
        if two in S2T_BIGRAMS:
            out.append(S2T_BIGRAMS[two])
            i += 2
        else:
            out.append(S2T.get(text[i], text[i]))
            i += 1
    return "".join(out)


def mojibake(text):
    """UTF-8 bytes decoded as Windows-1252 (bytes undefined in cp1252 map to U+0080..U+009F,
    like ftfy's 'sloppy-windows-1252'). ftfy.fix_text restores the original."""
    out = []
    for b in text.encode("utf-8"):
        try:
            out.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(b))
    return "".join(out)


CONTROL_CHARS = [chr(c) for c in list(range(1, 9)) + [11, 12] + list(range(14, 32)) + [127]]


def add_control_chars(rng, text):
    chars = list(text)
    for _ in range(rng.randint(3, 8)):
        pos = rng.randint(1, len(chars) - 1)
        chars.insert(pos, rng.choice(CONTROL_CHARS))
    return "".join(chars)


def doc_target_len(rng, scale=1.0):
    r = rng.random()
    if r < 0.35:
        n = rng.randint(150, 400)
    elif r < 0.75:
        n = rng.randint(400, 900)
    elif r < 0.93:
        n = rng.randint(900, 1600)
    else:
        n = rng.randint(1600, 2400)
    return int(n * scale)


def compose(rng, lang, target, main_topic, max_len, exclude_first_person=False, max_topics=None):
    """Compose a document from the sentence pool: main topic first, then others.
    Returns a list of paragraphs (each a list of sentences)."""
    others = [t for t in range(len(TOPICS)) if t != main_topic]
    order = ([main_topic] + rng.sample(others, len(others)))[:max_topics]
    paras, length = [], 0
    for t in order:
        cands = list(range(len(TOPICS[t][3])))
        if exclude_first_person:
            cands = [i for i in cands if not re.search("我|你|大家", TOPICS[t][3][i][0])]
        n = rng.randint(6, 10) if (t == main_topic or target > 1500 * (1 if lang == "zh" else 3)) else rng.randint(4, 8)
        idxs = rng.sample(cands, min(len(cands), n))
        i = 0
        while i < len(idxs):
            k = rng.randint(2, 4)
            para = []
            for j in idxs[i:i + k]:
                zh, en, _ = fill_pair(rng, t, j)
                s = zh if lang == "zh" else en
                add = len(s) + (1 if (para and lang == "en") else 0) + (1 if (not para and paras) else 0)
                if length + add > max_len:
                    if para:
                        paras.append(para)
                    return paras
                para.append(s)
                length += add
                if length >= target:
                    break
            if para:
                paras.append(para)
            if length >= target:
                return paras
            i += k
    return paras


def clean_doc(rng, pool, lang, max_len, scale=1.0, main_topic=None, tries=200):
    for _ in range(tries):
        topic = rng.randrange(len(TOPICS)) if main_topic is None else main_topic
        paras = compose(rng, lang, doc_target_len(rng, scale), topic, max_len)
        if len(paras) < 2:
            continue
        text = join_paras(paras, lang)
        ok, s = pool.ok(text)
        if ok:
            pool.add(s)
            return {"paras": paras, "text": text, "topic": topic}
    raise RuntimeError("could not draw a sufficiently distinct document")


class UrlMaker:
    def __init__(self, rng, hosts):
        self.rng, self.hosts, self.seen = rng, hosts, set()

    def __call__(self, hosts=None):
        while True:
            host = self.rng.choice(hosts or self.hosts)
            section = self.rng.choice(["news", "article", "post", "p", "a", "blog", "view"])
            path = f"{section}/{self.rng.randint(2015, 2023)}/{self.rng.randint(1, 12):02d}/{self.rng.randint(10000, 999999)}.html"
            url = f"https://{host}/{path}"
            if url not in self.seen:
                self.seen.add(url)
                return url


ZH_HOSTS = [
    "news.zixun-ribao.example", "www.lvxing-biji.example", "blog.jishu-shequ.example",
    "www.meishi-tiandi.example", "bbs.luntan-jia.example", "www.jiankang-shenghuo.example",
    "edu.xuexi-wang.example", "www.wenhua-guancha.example", "m.redian-toutiao.example",
    "www.caijing-zhoukan.example", "sports.tiyu-kuaixun.example", "www.huanbao-zaixian.example",
]
ZH_SPAM_HOSTS = ["www.mianfei-xiazai.example", "www.haokan-dianying.example", "www.youhui-quan.example"]
ZH_TECH_HOSTS = ["blog.kaifazhe-biji.example", "www.daima-shequ.example", "zhuanlan.chengxuyuan.example"]
EN_HOSTS = [
    "www.dailyherald-news.example", "blog.quietkitchen.example", "www.travelnotes.example",
    "www.healthline-weekly.example", "www.sciencecorner.example", "www.marketwatchers.example",
    "sports.scoreboard-daily.example", "www.classroom-journal.example", "www.greenplanet-blog.example",
    "www.culture-review.example", "www.homeandlife.example", "www.techreader.example",
]
EN_SPAM_HOSTS = ["www.best-deals-online.example", "www.free-download-zone.example", "www.cheap-stuff-4u.example"]
EN_TECH_HOSTS = ["dev.codenotes.example", "www.shellrecipes.example", "blog.bytesandbits.example"]


def place_dups(rng, base_items, dup_items, key="key", ref="ref"):
    """Shuffle base items, then insert every duplicate somewhere after its original."""
    items = list(base_items)
    rng.shuffle(items)
    for d in dup_items:
        pos = next(i for i, it in enumerate(items) if it[key] == d[ref])
        items.insert(rng.randint(pos + 1, len(items)), d)
    return items


# ---------------------------------------------------------------------------
# planted documents
# ---------------------------------------------------------------------------

def foreign_doc(rng, sentences, lang_sep=""):
    k = rng.randint(4, min(9, len(sentences)))
    picked = rng.sample(sentences, k)
    cut = rng.randint(2, k - 1) if k > 3 else k
    paras = [picked[:cut], picked[cut:]] if cut < k else [picked]
    return "\n".join(lang_sep.join(p) for p in paras)


def zh_spam_doc(rng, kind):
    def short_clean(n):
        t = rng.randrange(len(TOPICS))
        return "".join(fill_pair(rng, t, j)[0] for j in rng.sample(range(len(TOPICS[t][3])), n))

    def fmt(line):
        return line.format(wx=f"wx{rng.randint(0, 999999):06d}", qq=rng.randint(10000000, 999999999),
                           code=f"{rng.randint(0, 0xfffff):05x}", tel=f"{rng.randint(100, 999):03d}-{rng.randint(0, 9999):04d}",
                           icp=rng.randint(10000000, 99999999))

    lines = []
    if kind == "repeated_lines":
        line = rng.choice(ZH_SPAM_LINES)
        lines.append(short_clean(2))
        lines += [line] * rng.randint(8, 15)
    elif kind == "ads":
        lines.append(short_clean(1))
        lines += [fmt(rng.choice(ZH_ADS)) for _ in range(rng.randint(6, 12))]
    elif kind == "nav":
        nav = [fmt(x) for x in ZH_NAV]
        lines += rng.sample(nav[:4], 2)
        lines.append(short_clean(1))
        lines += rng.sample(nav[4:], rng.randint(5, 8))
    elif kind == "keywords":
        kws = rng.choice(ZH_KEYWORDS)
        for _ in range(rng.randint(5, 9)):
            lines.append(" ".join(rng.sample(kws, rng.randint(4, len(kws)))))
        lines.append(f"咨询电话：400-{rng.randint(100, 999):03d}-{rng.randint(0, 9999):04d}")
    elif kind == "repeated_chars":
        lines.append(short_clean(1))
        for _ in range(rng.randint(4, 8)):
            lines.append(rng.choice(ZH_REPEAT_CHARS) * rng.randint(12, 40))
    return "\n".join(lines)


def en_spam_doc(rng, kind):
    def short_clean(n):
        t = rng.randrange(len(TOPICS))
        return " ".join(fill_pair(rng, t, j)[1] for j in rng.sample(range(len(TOPICS[t][3])), n))

    lines = []
    if kind == "keywords":
        kws = rng.choice(EN_KEYWORDS)
        for _ in range(rng.randint(5, 9)):
            lines.append(", ".join(rng.sample(kws, rng.randint(4, len(kws)))))
    elif kind == "subscribe":
        lines.append(short_clean(1))
        lines += rng.sample(EN_SUBSCRIBE, rng.randint(5, 8))
    elif kind == "lorem":
        lines += [" ".join(rng.sample(LOREM, rng.randint(2, 4))) for _ in range(rng.randint(2, 4))]
    elif kind == "cookie_js":
        lines += rng.sample(EN_COOKIE_JS, rng.randint(3, 5))
        lines.append(short_clean(1))
    elif kind == "code_junk":
        lines.append(short_clean(1))
        lines += rng.sample(CODE_JUNK, rng.randint(3, 5))
    elif kind == "repeated_lines":
        lines.append(short_clean(2))
        lines += [rng.choice(EN_SPAM_LINES)] * rng.randint(8, 14)
    return "\n".join(lines)


def tech_docs(rng, n, lang, limit=0.25):
    """n technical documents of 2-3 units each; two documents never share two units and
    never share more than `limit` of their 5-character shingles. Every other document
    also gets one or two code-only blocks."""
    pool, used_pairs, docs = ShinglePool(limit), set(), []
    for _ in range(100000):
        if len(docs) == n:
            return docs
        c = sorted(rng.sample(range(len(TECH_UNITS)), 3 if rng.random() < 0.5 else 2))
        pairs = {(a, b) for i, a in enumerate(c) for b in c[i + 1:]}
        if pairs & used_pairs:
            continue
        k = len(docs)
        extras = rng.sample(range(len(CODE_EXTRAS)), 1 + (k // 2) % 2) if k % 2 else []
        text = tech_doc(rng, c, lang, extras)
        ok, sh = pool.ok(text)
        if ok:
            pool.add(sh)
            used_pairs |= pairs
            docs.append(text)
    raise RuntimeError("could not draw distinct technical documents")


def tech_doc(rng, combo, lang, extras=()):
    units = [TECH_UNITS[i][lang] for i in combo]
    rng.shuffle(units)
    for e in extras:  # code-only blocks make the document code-heavy
        lead_zh, lead_en, block = CODE_EXTRAS[e]
        units.insert(rng.randint(1, len(units)), (lead_zh if lang == "zh" else lead_en) + "\n" + block)
    if lang == "zh":
        parts = [rng.choice(TECH_OPENERS_ZH)] + units + [rng.choice(TECH_CLOSERS_ZH)]
    else:
        parts = [rng.choice(TECH_OPENERS_EN)] + units + [rng.choice(TECH_CLOSERS_EN)]
    return "\n".join(parts)


def near_dup_variant(rng, base, lang, kind):
    paras = [list(p) for p in base["paras"]]
    if kind == "sentence_changed":
        pi = rng.randrange(len(paras))
        si = rng.randrange(len(paras[pi]))
        t = rng.randrange(len(TOPICS))
        while True:
            zh, en, _ = fill_pair(rng, t, rng.randrange(len(TOPICS[t][3])))
            new = zh if lang == "zh" else en
            if new not in paras[pi]:
                break
        paras[pi][si] = new
        return join_paras(paras, lang)
    if kind == "paragraphs_reordered":
        order = list(range(len(paras)))
        while order == list(range(len(paras))):
            rng.shuffle(order)
        return join_paras([paras[i] for i in order], lang)
    if kind == "footer_added":
        footer = rng.choice(ZH_FOOTERS if lang == "zh" else EN_FOOTERS)
        return join_paras(paras, lang) + "\n" + footer
    raise ValueError(kind)


NEAR_DUP_KINDS = ["sentence_changed", "paragraphs_reordered", "footer_added"]


def web_corpus(lang, pool):
    """Build zh_web or en_web. Returns (records, labels, details, clean_texts)."""
    zh = lang == "zh"
    rng = rng_for(f"{lang}_web")
    counts = ZH_WEB_COUNTS if zh else EN_WEB_COUNTS
    total = ZH_WEB_TOTAL if zh else EN_WEB_TOTAL
    prefix = "zhweb" if zh else "enweb"
    max_len = 2500 if zh else 8000
    scale = 1.0 if zh else 3.0
    url = UrlMaker(rng, ZH_HOSTS if zh else EN_HOSTS)
    docs, key = [], [0]
    details = {}

    def add(text, label=None, ref=None, hosts=None, paras=None, sub=None):
        d = {"key": key[0], "text": text, "url": url(hosts), "label": label, "ref": ref, "paras": paras}
        key[0] += 1
        if sub:
            d["sub"] = sub
        docs.append(d)
        return d

    n_clean = total - sum(counts.values())
    clean = []
    for _ in range(n_clean):
        c = clean_doc(rng, pool, lang, max_len, scale)
        clean.append(add(c["text"], paras=c["paras"]))

    if zh:
        for _ in range(counts["traditional"]):
            c = clean_doc(rng, pool, lang, max_len, scale)
            add(to_traditional(c["text"]), "traditional")
        for _ in range(counts["mojibake"]):
            c = clean_doc(rng, pool, lang, 900)
            add(mojibake(c["text"]), "mojibake")
        for _ in range(counts["control_chars"]):
            c = clean_doc(rng, pool, lang, max_len, scale)
            add(add_control_chars(rng, c["text"]), "control_chars")

    keep_label = "mixed_zh_en_keep" if zh else "tech_code_keep"
    for text in tech_docs(rng, counts[keep_label], lang):
        add(text, keep_label, hosts=ZH_TECH_HOSTS if zh else EN_TECH_HOSTS)

    # wrong language
    n_wl = counts["wrong_language"]
    if zh:
        langs = [("en", None), ("ja", JA), ("ko", KO), ("ru", RU)]
    else:
        langs = [("zh", None), ("fr", FR), ("de", DE)]
    for i in range(n_wl):
        code, sents = langs[i % len(langs)]
        if code in ("en", "zh"):
            other = "en" if zh else "zh"
            paras = compose(rng, other, doc_target_len(rng, 3.0 if other == "en" else 1.0),
                            rng.randrange(len(TOPICS)), 8000 if other == "en" else 2500)
            text = join_paras(paras, other)
        else:
            text = foreign_doc(rng, sents, "" if code == "ja" else " ")
        add(text, "wrong_language", sub=code)

    # spam
    kinds = (["repeated_lines", "ads", "nav", "keywords", "repeated_chars"] if zh
             else ["keywords", "subscribe", "lorem", "cookie_js", "code_junk", "repeated_lines"])
    for i in range(counts["spam"]):
        kind = kinds[i % len(kinds)]
        add(zh_spam_doc(rng, kind) if zh else en_spam_doc(rng, kind), "spam",
            hosts=ZH_SPAM_HOSTS if zh else EN_SPAM_HOSTS, sub=kind)

    # too short
    shorts = list(ZH_TOO_SHORT if zh else EN_TOO_SHORT)
    rng.shuffle(shorts)
    for i in range(counts["too_short"]):
        add(shorts[i], "too_short")

    base = list(docs)
    # exact duplicates of clean docs (mirrors: same text, other URL)
    sources = rng.sample(clean, counts["exact_dup"])
    dups = []
    for s in sources:
        d = {"key": key[0], "text": s["text"], "url": url(), "label": "exact_dup_of", "ref": s["key"]}
        key[0] += 1
        dups.append(d)
    # near duplicates: variants of long-enough clean docs
    src_keys = {s["key"] for s in sources}
    bases = [c for c in clean if c["key"] not in src_keys and len(c["text"]) >= (500 if zh else 1500)]
    rng.shuffle(bases)
    made, bi = 0, 0
    while made < counts["near_dup"]:
        b = bases[bi % len(bases)]
        bi += 1
        kind = NEAR_DUP_KINDS[made % len(NEAR_DUP_KINDS)]
        text = near_dup_variant(rng, b, lang, kind)
        j = jaccard(shingles(text), shingles(b["text"]))
        if j < 0.7 or text == b["text"]:
            continue
        d = {"key": key[0], "text": text, "url": url(), "label": "near_dup_of", "ref": b["key"], "sub": kind,
             "jaccard": round(j, 3)}
        key[0] += 1
        dups.append(d)
        made += 1

    ordered = place_dups(rng, base, dups)
    id_of = {d["key"]: f"{prefix}-{i:04d}" for i, d in enumerate(ordered)}
    records, labels = [], {}
    for d in ordered:
        did = id_of[d["key"]]
        records.append({"id": did, "text": d["text"], "url": d["url"]})
        if d["label"]:
            lab = d["label"] + (":" + id_of[d["ref"]] if d["ref"] is not None else "")
            labels[did] = lab
            if "sub" in d:
                details[did] = d["sub"]
    assert len(records) == total, len(records)
    clean_records = [{"id": id_of[c["key"]], "text": c["text"]} for c in clean]
    near_j = [d["jaccard"] for d in dups if "jaccard" in d]
    return records, labels, details, clean_records, {"near_dup_jaccard_min": min(near_j)}


# ---------------------------------------------------------------------------
# zh_wiki
# ---------------------------------------------------------------------------

STUB_TEMPLATES = [
    "{t}是一个与{topic}有关的条目，目前内容不足，欢迎补充。",
    "本条目“{t}”是一个小作品，欢迎您扩充其内容。",
    "{t}：参见相关条目。",
    "{t}可以指多个不同的概念，请参阅消歧义页面。",
]


def wiki_corpus(pool, zh_clean_records, zh_labels):
    rng = rng_for("zh_wiki")
    topic_index = {TOPICS[i][0]: i for i in range(len(TOPICS))}
    leads = [(topic_index[t], title, lead) for t, items in WIKI_LEADS.items() for title, lead in items]
    rng.shuffle(leads)
    n_articles = WIKI_TOTAL - WIKI_COUNTS["exact_dup_cross_source"] - WIKI_COUNTS["too_short"]
    articles, stubs = leads[:n_articles], leads[n_articles:n_articles + WIKI_COUNTS["too_short"]]
    rows = []
    for t, title, lead in articles:
        for _ in range(300):
            target = doc_target_len(rng)
            paras = compose(rng, "zh", max(0, target - len(lead)), t, 2500 - len(lead) - 1,
                            exclude_first_person=True, max_topics=3)
            text = lead + "\n" + join_paras(paras, "zh")
            ok, s = pool.ok(text)
            if ok:
                pool.add(s)
                break
        else:
            raise RuntimeError("wiki: could not draw a distinct article")
        rows.append({"title": title, "text": text, "label": None})
    for r in rng.sample(rows, WIKI_COUNTS["traditional"]):
        r["title"], r["text"], r["label"] = to_traditional(r["title"]), to_traditional(r["text"]), "traditional"
    for i, (t, title, _lead) in enumerate(stubs):
        text = STUB_TEMPLATES[i % len(STUB_TEMPLATES)].format(t=title, topic=TOPICS[t][1])
        assert len(text) < 50
        rows.append({"title": title, "text": text, "label": "too_short"})
    # cross-source exact duplicates: copies of clean zh_web documents
    copied_ids = {lab.split(":", 1)[1] for lab in zh_labels.values() if ":" in lab}
    cands = [r for r in zh_clean_records if r["id"] not in zh_labels and r["id"] not in copied_ids]
    cities = rng.sample(CITIES, WIKI_COUNTS["exact_dup_cross_source"])
    for r, city in zip(rng.sample(cands, WIKI_COUNTS["exact_dup_cross_source"]), cities, strict=True):
        rows.append({"title": city[0], "text": r["text"], "label": "exact_dup_of:" + r["id"]})
    rng.shuffle(rows)
    labels = {}
    out = []
    for i, r in enumerate(rows):
        rid = f"zhwiki-{i:04d}"
        out.append({"id": rid, "title": r["title"], "text": r["text"]})
        if r["label"]:
            labels[rid] = r["label"]
    return out, labels


# ---------------------------------------------------------------------------
# parallel.tsv
# ---------------------------------------------------------------------------

def make_url(rng):
    host = rng.choice(["www.expo-2023.example", "data.city-stats.example", "www.open-report.example",
                       "events.culture-week.example", "help.service-center.example"])
    section = rng.choice(["news", "report", "event", "faq", "docs"])
    return f"https://{host}/{section}/{rng.randint(100, 9999)}"


def parallel_corpus():
    rng = rng_for("parallel")
    all_idx = [(t, i) for t in range(len(TOPICS)) for i in range(len(TOPICS[t][3]))]
    seen = set()
    rows = []  # dict(key, zh, en, label, ref)

    def add(zh, en, label=None, ref=None, check=True):
        if check and (zh, en) in seen:
            return False
        seen.add((zh, en))
        rows.append({"key": len(rows), "zh": zh, "en": en, "label": label, "ref": ref})
        return True

    def sentence():
        t, i = rng.choice(all_idx)
        return fill_pair(rng, t, i)[:2]

    def paragraph(n):
        t = rng.randrange(len(TOPICS))
        pairs = [fill_pair(rng, t, i)[:2] for i in rng.sample(range(len(TOPICS[t][3])), n)]
        return "".join(p[0] for p in pairs), " ".join(p[1] for p in pairs)

    n_planted = sum(PARALLEL_COUNTS.values())
    n_good = PARALLEL_TOTAL - n_planted
    n_url_good = 6
    # good pairs: every template once as a sentence pair (shuffled), then paragraphs
    order = list(all_idx)
    rng.shuffle(order)
    n_sent = int((n_good - n_url_good) * 0.7)
    for t, i in order[:n_sent]:
        add(*fill_pair(rng, t, i)[:2])
    while len(rows) < n_good - n_url_good:
        add(*paragraph(rng.randint(2, 3)))
    for k in range(n_url_good):
        zt, et = URL_PAIRS[k % len(URL_PAIRS)]
        u = make_url(rng)
        add(zt.format(url=u), et.format(url=u))
    good = list(rows)

    # planted problems; each maker returns (zh_column, en_column) for the k-th row
    def plant(label, make):
        for k in range(PARALLEL_COUNTS[label]):
            while not add(*make(k), label):
                pass

    def swapped(k):
        zh, en = sentence()
        return en, zh

    def same_language(k):
        (z1, e1), (z2, e2) = sentence(), sentence()
        return (z1, z2) if k % 2 == 0 else (e1, e2)

    def identical(k):
        if k < len(IDENTICAL_TEXTS) - 2:
            s = IDENTICAL_TEXTS[k]
        else:
            zh, en = sentence()
            s = en if k % 2 else zh
        return s, s

    def copied(k):  # one side contains the other
        zh, en = sentence()
        return (zh, zh + " " + en) if k % 2 == 0 else (zh + " " + en, en)

    num_idx = [(t, i) for t, i in all_idx if set(slot_names(TOPICS[t][3][i][0])) & {"year", "pct", "num", "big"}]

    def numbers_mismatch(k):
        t, i = rng.choice(num_idx)
        zh, _, vals = fill_pair(rng, t, i)
        name = rng.choice([n for n in slot_names(TOPICS[t][3][i][0]) if n in ("year", "pct", "num", "big")])
        old = int(vals[name][0])
        new = old + rng.choice([-2, -1, 1, 2, 3]) if name in ("year", "num") else old + rng.randint(3, 30)
        if name == "num" and not 2 <= new <= 9:
            new = old + 2 if old <= 7 else old - 2
        vals2 = dict(vals)
        vals2[name] = (str(new), str(new))
        return zh, fill_pair(rng, t, i, vals2)[1]

    def url_mismatch(k):
        zt, et = URL_PAIRS[k % len(URL_PAIRS)]
        u1, u2 = make_url(rng), make_url(rng)
        while u2 == u1:
            u2 = make_url(rng)
        return zt.format(url=u1), et.format(url=u2)

    def length_ratio(k):
        zh, en = paragraph(3)
        if k % 2 == 0:  # English side truncated to its first clause
            cut = en.find(",") if "," in en[:60] else en.find(" ", 20)
            return zh, en[:cut].rstrip(" ,")
        cut = zh.find("，") if "，" in zh[:20] else 6  # Chinese side truncated
        return zh[:cut], en

    def empty(k):
        zh, en = sentence()
        return (zh, "") if k % 2 == 0 else ("", en)

    def too_long(k):
        zs, es = [], []
        while sum(map(len, zs)) < 2100:
            z, e = sentence()
            zs.append(z)
            es.append(e)
        return "".join(zs), " ".join(es)

    shorts = rng.sample(SHORT_PAIRS, PARALLEL_COUNTS["too_short"])

    def too_short(k):
        return shorts[k]

    for label, make in [("swapped", swapped), ("same_language", same_language), ("identical", identical),
                        ("copied", copied), ("numbers_mismatch", numbers_mismatch), ("url_mismatch", url_mismatch),
                        ("length_ratio", length_ratio), ("empty", empty), ("too_long", too_long),
                        ("too_short", too_short)]:
        plant(label, make)
    base = list(rows)
    dups = []
    for g in rng.sample(good, PARALLEL_COUNTS["dup_pair"]):
        dups.append({"key": len(base) + len(dups), "zh": g["zh"], "en": g["en"], "label": "dup_pair_of", "ref": g["key"]})
    ordered = place_dups(rng, base, dups)
    row_of = {r["key"]: i for i, r in enumerate(ordered)}
    labels = {}
    lines = ["zh\ten"]
    for i, r in enumerate(ordered):
        for f in (r["zh"], r["en"]):
            assert not re.search(r"[\t\r\n]", f), f
            assert not f.startswith('"'), f
        lines.append(r["zh"] + "\t" + r["en"])
        if r["label"]:
            labels[str(i)] = r["label"] + (f":{row_of[r['ref']]}" if r["ref"] is not None else "")
    assert len(ordered) == PARALLEL_TOTAL
    return "\n".join(lines) + "\n", labels


# ---------------------------------------------------------------------------
# instruction data
# ---------------------------------------------------------------------------

CLASSIFY_ZH = "判断下面这段话属于哪个领域（科技、历史、美食、旅行、科学、经济、体育、健康、教育、文化、环境、生活），只回答领域名称并说明理由。"
CLASSIFY_EN = ("Which of these topics does the following paragraph belong to: technology, history, food and cooking, "
               "travel, science, the economy, sports, health, education, culture, the environment or daily life?")
CN_NUM = {3: "三", 4: "四", 5: "五"}


def task(rng, kind, lang):
    """One instruction task -> dict(instruction, input, output, kind, lang)."""
    zh = lang == "zh"
    if kind == "qa":
        q, a = rng.choice(QA_ZH if zh else QA_EN)
        return {"instruction": q, "input": "", "output": a}
    if kind == "translate":
        t = rng.randrange(len(TOPICS))
        n = rng.choice([1, 1, 2])
        pairs = [fill_pair(rng, t, i)[:2] for i in rng.sample(range(len(TOPICS[t][3])), n)]
        zs, es = "".join(p[0] for p in pairs), " ".join(p[1] for p in pairs)
        if zh:  # Chinese-speaking user
            if rng.random() < 0.6:
                return {"instruction": rng.choice(["把下面的句子翻译成英文。", "请将以下中文翻译成英语：", "翻译成英文："]),
                        "input": zs, "output": es}
            return {"instruction": rng.choice(["请把这段英文翻译成中文。", "把下面的英文翻译成中文："]), "input": es, "output": zs}
        if rng.random() < 0.6:
            return {"instruction": rng.choice(["Translate the following sentence into Chinese.", "Translate this into Simplified Chinese:"]),
                    "input": es, "output": zs}
        return {"instruction": "Translate the following Chinese text into English.", "input": zs, "output": es}
    if kind == "classify":
        t = rng.randrange(len(TOPICS))
        pairs = [fill_pair(rng, t, i)[:2] for i in rng.sample(range(len(TOPICS[t][3])), rng.randint(2, 3))]
        if zh:
            first = pairs[0][0]
            return {"instruction": CLASSIFY_ZH, "input": "".join(p[0] for p in pairs),
                    "output": f"{TOPICS[t][1]}。这段话的内容，例如“{first.rstrip('。')}”，主要和{TOPICS[t][1]}有关。"}
        return {"instruction": CLASSIFY_EN, "input": " ".join(p[1] for p in pairs),
                "output": f"The paragraph is about {TOPICS[t][2]}."}
    if kind == "arith":
        a, b, c = rng.randint(2, 99), rng.randint(2, 30), rng.randint(1, 500)
        form = rng.randrange(3)
        if form == 0:
            ab, res = a * b, a * b + c
            expr = f"{a} × {b} + {c}"
            steps_zh = f"先算乘法：{a} × {b} = {ab}；再算加法：{ab} + {c} = {res}。"
            steps_en = f"First multiply: {a} × {b} = {ab}. Then add: {ab} + {c} = {res}."
        elif form == 1:
            ab, res = a + b, (a + b) * c
            expr = f"({a} + {b}) × {c}"
            steps_zh = f"先算括号里的加法：{a} + {b} = {ab}；再乘以 {c}：{ab} × {c} = {res}。"
            steps_en = f"First the parentheses: {a} + {b} = {ab}. Then multiply: {ab} × {c} = {res}."
        else:
            ab, res = a * b, a * b - c
            expr = f"{a} × {b} - {c}"
            steps_zh = f"先算乘法：{a} × {b} = {ab}；再算减法：{ab} - {c} = {res}。"
            steps_en = f"First multiply: {a} × {b} = {ab}. Then subtract: {ab} - {c} = {res}."
        if zh:
            return {"instruction": f"计算 {expr} 等于多少？", "input": "", "output": f"{steps_zh}所以结果是 {res}。", "res": res}
        return {"instruction": f"What is {expr}?", "input": "", "output": f"{steps_en} The answer is {res}.", "res": res}
    if kind == "convert":
        n = rng.randint(2, 99)
        form = rng.randrange(3)
        if zh:
            q, a = [(f"{n}公里等于多少米？", f"{n}公里等于{n * 1000}米，因为1公里等于1000米。"),
                    (f"{n}小时是多少分钟？", f"{n}小时等于{n * 60}分钟，因为1小时有60分钟。"),
                    (f"{n}千克等于多少克？", f"{n}千克等于{n * 1000}克，因为1千克等于1000克。")][form]
        else:
            q, a = [(f"Convert {n} kilometers to meters.", f"{n} kilometers is {n * 1000} meters, because 1 kilometer equals 1000 meters."),
                    (f"How many minutes are in {n} hours?", f"There are {n * 60} minutes in {n} hours, since each hour has 60 minutes."),
                    (f"How many seconds are in {n} minutes?", f"There are {n * 60} seconds in {n} minutes, since each minute has 60 seconds.")][form]
        return {"instruction": q, "input": "", "output": a}
    if kind == "sort":
        nums = rng.sample(range(1, 1000), rng.randint(5, 8))
        s = ", ".join(map(str, nums))
        srt = ", ".join(map(str, sorted(nums)))
        if zh:
            return {"instruction": "把下面的数字从小到大排列。", "input": s, "output": f"从小到大排列为：{srt}。"}
        return {"instruction": "Sort these numbers in ascending order.", "input": s, "output": f"In ascending order: {srt}."}
    if kind == "points":
        t = rng.randrange(len(TOPICS))
        k = rng.randint(3, 5)
        pairs = [fill_pair(rng, t, i)[:2] for i in rng.sample(range(len(TOPICS[t][3])), k)]
        if zh:
            q = rng.choice(["请列举%s条与%s有关的信息。", "关于%s，你能说出%s个要点吗？"])
            q = q % ((CN_NUM[k], TOPICS[t][1]) if q.startswith("请") else (TOPICS[t][1], CN_NUM[k]))
            return {"instruction": q, "input": "", "output": "\n".join(f"{j + 1}. {p[0]}" for j, p in enumerate(pairs)),
                    "topic": t}
        q = rng.choice(["List %d facts related to %s.", "Give me %d short points about %s."]) % (k, TOPICS[t][2])
        return {"instruction": q, "input": "", "output": "\n".join(f"{j + 1}. {p[1]}" for j, p in enumerate(pairs)), "topic": t}
    raise ValueError(kind)


TASK_KINDS = ["qa", "qa", "qa", "translate", "translate", "classify", "arith", "convert", "sort", "points", "points"]


def user_text(t):
    return t["instruction"] + ("\n\n" + t["input"] if t["input"] else "")


def follow_up(rng, t, lang):
    """A follow-up (user, assistant) turn that fits the previous task."""
    zh = lang == "zh"
    if t.get("res") is not None:
        d = rng.randint(2, 9)
        r2 = t["res"] * d
        return ((f"如果把结果再乘以 {d} 呢？", f"{t['res']} × {d} = {r2}，结果是 {r2}。") if zh else
                (f"What if you multiply the result by {d}?", f"{t['res']} × {d} = {r2}, so the result is {r2}."))
    if t.get("topic") is not None:
        tp = t["topic"]
        pairs = [fill_pair(rng, tp, i)[:2] for i in rng.sample(range(len(TOPICS[tp][3])), 2)]
        return (("能再多说两点吗？", "\n".join(p[0] for p in pairs)) if zh else
                ("Can you add two more?", "\n".join(p[1] for p in pairs)))
    if rng.random() < 0.5:
        t2 = task(rng, "translate", lang)
        return user_text(t2), t2["output"]
    return (("谢谢！", "不客气！如果还有其他问题，随时问我。") if zh else
            ("Thanks!", "You're welcome! Let me know if you have any other questions."))


def conversation(rng, lang, kind=None, turns=None, system=None):
    """Returns list of (role, content) with roles system/user/assistant."""
    t = task(rng, kind or rng.choice(TASK_KINDS), lang)
    msgs = []
    if system or (system is None and rng.random() < 0.3):
        msgs.append(("system", rng.choice(SYSTEM_ZH if lang == "zh" else SYSTEM_EN)))
    msgs += [("user", user_text(t)), ("assistant", t["output"])]
    n_turns = turns if turns is not None else rng.choice([1, 1, 1, 2, 2, 3])
    for _ in range(n_turns - 1):
        u, a = follow_up(rng, t, lang)
        msgs += [("user", u), ("assistant", a)]
    return msgs


def truncate_mid_sentence(rng, text):
    """Cut an answer in the middle of a sentence (never at sentence end)."""
    for _ in range(100):
        pos = rng.randint(int(len(text) * 0.35), int(len(text) * 0.75))
        cut = text[:pos].rstrip()
        if not re.search("[\u4e00-\u9fff]", text):  # English: cut on a word boundary
            cut = cut[:cut.rfind(" ")] if " " in cut else cut
        cut = cut.rstrip(" ,，、")
        if cut and cut[-1] not in "。！？.!?\n：:；;" and len(cut) < len(text):
            return cut
    raise RuntimeError("cannot truncate")


def long_answer(rng, lang, min_chars):
    parts, total = [], 0
    while total < min_chars:
        t = rng.randrange(len(TOPICS))
        pairs = [fill_pair(rng, t, i)[:2] for i in rng.sample(range(len(TOPICS[t][3])), 6)]
        p = "".join(x[0] for x in pairs) if lang == "zh" else " ".join(x[1] for x in pairs)
        parts.append(p)
        total += len(p) + 1
    return "\n".join(parts)


def reworded(answer):
    """A slightly different answer to a duplicated prompt."""
    if re.search("[\u4e00-\u9fff]", answer):
        return answer + ("\n" if "\n" in answer else "") + "希望对你有帮助。"
    return answer + ("\n" if "\n" in answer else " ") + "Hope this helps."


def conv_chars(msgs):
    return sum(len(c) for _, c in msgs)


def instruct_set(name, fmt):
    """fmt: 'alpaca' | 'sharegpt' | 'messages'. Returns (records, labels)."""
    rng = rng_for(name)
    planted = INSTRUCT_PLANTED[name]
    total = INSTRUCT_TOTAL[name]
    n_clean = total - sum(planted.values())
    items, seen = [], set()

    def first_user(msgs):
        return next(c for r, c in msgs if r == "user")

    def new_conv(lang, **kw):
        for attempt in range(10000):
            if attempt == 50:  # the fixed kind ran out of unused prompts
                kw.pop("kind", None)
            if fmt == "alpaca":
                t = task(rng, kw.get("kind") or rng.choice(TASK_KINDS), lang)
                msgs = [("user", user_text(t)), ("assistant", t["output"])]
                msgs_t = t
            else:
                msgs = conversation(rng, lang, **kw)
                msgs_t = None
            p = first_user(msgs)
            if p not in seen:
                seen.add(p)
                return msgs, msgs_t

    def add(msgs, t=None, label=None, ref=None):
        items.append({"key": len(items), "msgs": msgs, "task": t, "label": label, "ref": ref})

    langs = ["zh", "en"]
    for i in range(n_clean):
        add(*new_conv(langs[i % 2]))
    for i in range(planted["empty_answer"]):
        msgs, t = new_conv(langs[i % 2])
        msgs = list(msgs)
        idx = max(j for j, (r, _) in enumerate(msgs) if r == "assistant")
        msgs[idx] = ("assistant", "")
        if t:
            t = dict(t, output="")
        add(msgs, t, "empty_answer")
    for i in range(planted["truncated_answer"]):
        while True:
            msgs, t = new_conv(langs[i % 2], kind="qa" if i % 2 else "points")
            idx = max(j for j, (r, _) in enumerate(msgs) if r == "assistant")
            if len(msgs[idx][1]) >= 40:
                break
        msgs = list(msgs)
        cut = truncate_mid_sentence(rng, msgs[idx][1])
        msgs[idx] = ("assistant", cut)
        if t:
            t = dict(t, output=cut)
        add(msgs, t, "truncated_answer")
    for i in range(planted["overlong"]):
        lang = langs[i % 2]
        if fmt == "alpaca":
            if lang == "en":
                a, b, c = rng.sample([tp[2] for tp in TOPICS], 3)
                q = f"Write a long, detailed essay about {a}, {b} and {c}."
                t = {"instruction": q, "input": "", "output": long_answer(rng, "en", OVERLONG_CHARS + 200)}
            else:
                body = long_answer(rng, "zh", OVERLONG_CHARS + 200)
                t = {"instruction": "用一句话概括下面这篇文章的主题。", "input": body,
                     "output": "这篇文章介绍了科技、历史、美食、旅行等多个领域的常见话题。"}
            msgs = [("user", user_text(t)), ("assistant", t["output"])]
        else:
            msgs, t = new_conv(lang, kind="points", turns=1)
            msgs = list(msgs)
            while conv_chars(msgs) <= OVERLONG_CHARS:
                msgs += [("user", "请继续，写得更详细一些。" if lang == "zh" else "Please continue in more detail."),
                         ("assistant", long_answer(rng, lang, 1500))]
        assert conv_chars(msgs) > OVERLONG_CHARS
        add(msgs, t, "overlong")
    for i in range(planted["whitespace_only"]):
        msgs, t = new_conv(langs[i % 2])
        msgs = list(msgs)
        ws = rng.choice(["   ", "\n\n", " \n\t ", "\u3000\u3000"])
        if i % 2 == 0:
            idx = max(j for j, (r, _) in enumerate(msgs) if r == "assistant")
            msgs[idx] = ("assistant", ws)
            if t:
                t = dict(t, output=ws)
        else:
            if fmt == "alpaca":
                t = dict(t, instruction=ws, input="")
                msgs[0] = ("user", ws)
            else:
                # a whitespace-only user turn in the middle of the conversation
                msgs += [("user", ws), ("assistant", "请问您想问什么？" if langs[i % 2] == "zh" else "Sorry, could you repeat your question?")]
        add(msgs, t, "whitespace_only")
    base = list(items)
    dups = []
    clean_items = [it for it in base if it["label"] is None]
    for src in rng.sample(clean_items, planted["duplicate_prompt"]):
        if fmt == "alpaca":
            t2 = dict(src["task"])
            t2["output"] = reworded(t2["output"])  # same prompt, a different answer
            msgs = [("user", user_text(t2)), ("assistant", t2["output"])]
        else:
            t2 = None
            msgs = list(src["msgs"][: next(j for j, m in enumerate(src["msgs"]) if m[0] == "user") + 1])
            msgs.append(("assistant", reworded(src["msgs"][len(msgs)][1])))
        dups.append({"key": len(base) + len(dups), "msgs": msgs, "task": t2, "label": "duplicate_prompt_of", "ref": src["key"]})
    ordered = place_dups(rng, base, dups)
    prefix = {"alpaca": None, "sharegpt": "sg", "messages": "msg"}[fmt]
    id_of = {it["key"]: (str(i) if prefix is None else f"{prefix}-{i:04d}") for i, it in enumerate(ordered)}
    records, labels = [], {}
    for it in ordered:
        rid = id_of[it["key"]]
        if fmt == "alpaca":
            t = it["task"]
            records.append({"instruction": t["instruction"], "input": t["input"], "output": t["output"]})
        elif fmt == "sharegpt":
            role = {"system": "system", "user": "human", "assistant": "gpt"}
            records.append({"id": rid, "conversations": [{"from": role[r], "value": c} for r, c in it["msgs"]]})
        else:
            records.append({"id": rid, "messages": [{"role": r, "content": c} for r, c in it["msgs"]]})
        if it["label"]:
            labels[rid] = it["label"] + (":" + id_of[it["ref"]] if it["ref"] is not None else "")
    assert len(records) == total
    return records, labels


# ---------------------------------------------------------------------------
# tokenizer
# ---------------------------------------------------------------------------

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ 'Assistant:\\n' }}{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}{{ '\\n' }}"
    "{% else %}"
    "{{ (message['role'] | capitalize) + ':\\n' + message['content'] + '\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:\\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]
VOCAB_SIZE = 4000
ZH_SHARE = 0.03


def build_tokenizer(out_dir, en_texts, zh_texts):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    en_chars = sum(len(t) for t in en_texts)
    zh_sample, n = [], 0
    for t in zh_texts:  # ~3% of the training characters are Chinese
        if n >= en_chars * ZH_SHARE / (1 - ZH_SHARE):
            break
        zh_sample.append(t)
        n += len(t)
    corpus = en_texts + zh_sample
    tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer=trainer)
    bos_id = tok.token_to_id("<s>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B:1", special_tokens=[("<s>", bos_id)]),
    ])
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"), pretty=True)
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "model_max_length": 4096,
        "padding_side": "right",
        "clean_up_tokenization_spaces": False,
        "chat_template": CHAT_TEMPLATE,
    }
    write_text(os.path.join(out_dir, "tokenizer_config.json"), json.dumps(config, ensure_ascii=False, indent=2) + "\n")
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    write_text(os.path.join(out_dir, "special_tokens_map.json"), json.dumps(special, indent=2) + "\n")
    return {"train_chars_en": en_chars, "train_chars_zh": n, "train_docs_zh": len(zh_sample),
            "vocab_size": tok.get_vocab_size()}


# ---------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------

def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


def jsonl(records):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def write_gzip(path, data):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as g:
        g.write(data)
    write_bytes(path, buf.getvalue())


def write_zst(path, data):
    import zstandard

    write_bytes(path, zstandard.ZstdCompressor(level=19).compress(data))


def write_parquet(path, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.string()), ("title", pa.string()), ("text", pa.string())])
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path, compression="zstd")


def write_messages_dataset(path, records):
    import datasets
    import pyarrow as pa

    datasets.disable_progress_bars()
    msg_type = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    schema = pa.schema([("id", pa.string()), ("messages", msg_type)])
    table = pa.Table.from_pylist(records, schema=schema)
    ds = datasets.Dataset(table, fingerprint="demo-instruct-messages-v1")
    if os.path.exists(path):
        shutil.rmtree(path)
    ds.save_to_disk(path)


# ---------------------------------------------------------------------------
# README
# ---------------------------------------------------------------------------

def label_counts(labels):
    out = {}
    for v in labels.values():
        k = v.split(":", 1)[0]
        out[k] = out.get(k, 0) + 1
    return dict(sorted(out.items()))


def sub_counts(details, labels, label):
    out = {}
    for k, v in details.items():
        if labels.get(k, "").startswith(label):
            out[v] = out.get(v, 0) + 1
    return ", ".join(f"{a}: {b}" for a, b in sorted(out.items()))


def readme(stats, labels, details, tok_info):
    def table(fname):
        rows = ["| label | count |", "|---|---|"]
        for k, v in label_counts(labels[fname]).items():
            rows.append(f"| `{k}` | {v} |")
        return "\n".join(rows)

    zl, el = labels["zh_web.jsonl.gz"], labels["en_web.jsonl.zst"]
    zd, ed = details["zh_web.jsonl.gz"], details["en_web.jsonl.zst"]
    keep = "\n".join(f"- `{k}`: {v}" for k, v in KEEP_LABELS.items())
    return f"""# Demo data (generated)

Small, fully synthetic sample sources for the curation / mixing / training demo.
Everything here is **generated** by `generate.py` from the hand-written text pools in
`pool_*.py` with fixed seeds; do not edit the files by hand. Regenerate with

    python recipes/demo_data/generate.py

The output is byte-identical between runs (fixed seeds, gzip `mtime=0`, no timestamps,
a fixed `datasets` fingerprint). Needs only the stdlib, `datasets`, `tokenizers`,
`pyarrow` and `zstandard`.

The ground truth for every planted problem is in `labels.json`:
`{{source_file: {{doc_id: label}}}}`. Documents without a label are clean. Labels of the form
`exact_dup_of:<id>`, `near_dup_of:<id>`, `dup_pair_of:<row>` and `duplicate_prompt_of:<id>`
point at the original, which always comes *earlier* in the same file (cross-source
duplicates in `zh_wiki.parquet` point at `zh_web` ids). Labels that mean "keep":

{keep}

All other labels mark data a curation pipeline should drop. The clean documents are
drawn so that no two of them share more than {int(MAX_CLEAN_JACCARD * 100)}% (Jaccard) of their
5-character shingles; only the planted near-duplicates are near-duplicates
(their Jaccard similarity to the original is >= 0.7).

## Files

### `zh_web.jsonl.gz` - Chinese web text ({stats['zh_web']['n']} docs)
JSON lines, gzip. Fields: `id` (`zhweb-NNNN`), `text`, `url`. Paragraphs are separated by
`\\n`; clean documents are 150-2500 characters of Simplified Chinese on 12 topics.

{table("zh_web.jsonl.gz")}

Details: wrong language = {sub_counts(zd, zl, "wrong_language")};
spam = {sub_counts(zd, zl, "spam")};
near duplicates = {sub_counts(zd, zl, "near_dup_of")}.
`mojibake` is UTF-8 decoded as Windows-1252 (ftfy fixes it); `control_chars` contains
ASCII control characters (U+0001-U+001F except tab/newline/CR, and U+007F);
`traditional` is the same kind of prose converted to Traditional characters;
`mixed_zh_en_keep` are Chinese technical notes with code blocks, shell commands and
man-page style option lists (e.g. `-r, --recursive    递归复制目录及其内容`).

### `zh_wiki.parquet` - Chinese encyclopedia-like articles ({stats['zh_wiki']['n']} rows)
Columns `id` (`zhwiki-NNNN`), `title`, `text`. Each article starts with a hand-written lead.

{table("zh_wiki.parquet")}

`exact_dup_of:zhweb-NNNN` rows are exact copies of clean `zh_web` documents
(cross-source duplicates); `too_short` rows are stubs under 50 characters.

### `en_web.jsonl.zst` - English web text ({stats['en_web']['n']} docs)
JSON lines, zstd. Fields: `id` (`enweb-NNNN`), `text`, `url`.

{table("en_web.jsonl.zst")}

Details: wrong language = {sub_counts(ed, el, "wrong_language")};
spam = {sub_counts(ed, el, "spam")};
near duplicates = {sub_counts(ed, el, "near_dup_of")}.
`tech_code_keep` are English technical notes with code (they contain `{{` and similar
characters that naive filters drop).

### `parallel.tsv` - zh-en pairs ({stats['parallel']['n']} rows)
Tab-separated, UTF-8, header `zh\\ten`, no quoting (read with `quoting=csv.QUOTE_NONE`;
fields never contain tabs or newlines). The id of a row is its 0-based data row number
(the header is not counted). Clean rows are real translations (sentences and short
paragraphs; numbers and URLs match on both sides).

{table("parallel.tsv")}

`copied`: one side contains the other; `length_ratio`: one side truncated to a clause;
`too_long`: a side longer than 2000 characters; `too_short`: one-word pairs.

### `instruct_alpaca.jsonl` ({stats['alpaca']['n']} records)
Alpaca records `{{"instruction", "input", "output"}}`, Chinese and English mixed.
There is no id field: the id is the 0-based line number.

{table("instruct_alpaca.jsonl")}

### `instruct_sharegpt.jsonl` ({stats['sharegpt']['n']} records)
`{{"id": "sg-NNNN", "conversations": [{{"from": "system"|"human"|"gpt", "value": ...}}]}}`,
single- and multi-turn.

{table("instruct_sharegpt.jsonl")}

### `instruct_messages/` ({stats['messages']['n']} records)
A `datasets.Dataset.save_to_disk` folder (load with `datasets.load_from_disk`), columns
`id` (`msg-NNNN`) and `messages: [{{"role": "system"|"user"|"assistant", "content": ...}}]`.

{table("instruct_messages")}

Instruction labels: `empty_answer` (last assistant turn is empty), `truncated_answer`
(cut mid-sentence), `overlong` (more than {OVERLONG_CHARS} characters in total),
`whitespace_only` (a turn or field that is only whitespace),
`duplicate_prompt_of:<id>` (same first user turn as an earlier record).

### `tokenizer/`
An "English-first" byte-level BPE tokenizer (vocab {tok_info['vocab_size']}) trained with the
`tokenizers` library on the clean English demo text ({tok_info['train_chars_en']} characters:
`en_web` + the English side of `parallel.tsv`) plus only {tok_info['train_chars_zh']} characters
of Chinese ({tok_info['train_docs_zh']} `zh_web` documents, ~{int(ZH_SHARE * 100)}% of the training text), so
most Chinese characters are split into several byte tokens - like LLaMA-2 relative to
Chinese. Special tokens: `<unk>`=0, `<s>`=1, `</s>`=2, `<pad>`=3; encoding adds `<s>` at the
start (LLaMA-style). Load with `AutoTokenizer.from_pretrained("recipes/demo_data/tokenizer")`
or `PreTrainedTokenizerFast(tokenizer_file=".../tokenizer.json")`.
The chat template renders `System:` / `User:` / `Assistant:` headers and wraps assistant
content (plus `</s>`) in `{{% generation %}}`, so
`apply_chat_template(messages, return_dict=True, return_assistant_tokens_mask=True)` works.

### `labels.json`
Ground truth for all the files above.
"""


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=HERE, help="output folder (default: this folder)")
    args = ap.parse_args(argv)
    out = args.out
    os.makedirs(out, exist_ok=True)

    zh_pool = ShinglePool()
    en_pool = ShinglePool()
    labels, details, stats = {}, {}, {}

    zh_recs, zh_labels, zh_details, zh_clean, zh_info = web_corpus("zh", zh_pool)
    write_gzip(os.path.join(out, "zh_web.jsonl.gz"), jsonl(zh_recs))
    labels["zh_web.jsonl.gz"], details["zh_web.jsonl.gz"] = zh_labels, zh_details
    stats["zh_web"] = {"n": len(zh_recs), **zh_info}

    wiki_rows, wiki_labels = wiki_corpus(zh_pool, zh_clean, zh_labels)
    write_parquet(os.path.join(out, "zh_wiki.parquet"), wiki_rows)
    labels["zh_wiki.parquet"] = wiki_labels
    stats["zh_wiki"] = {"n": len(wiki_rows)}

    en_recs, en_labels, en_details, en_clean, en_info = web_corpus("en", en_pool)
    write_zst(os.path.join(out, "en_web.jsonl.zst"), jsonl(en_recs))
    labels["en_web.jsonl.zst"], details["en_web.jsonl.zst"] = en_labels, en_details
    stats["en_web"] = {"n": len(en_recs), **en_info}

    tsv, par_labels = parallel_corpus()
    write_text(os.path.join(out, "parallel.tsv"), tsv)
    labels["parallel.tsv"] = par_labels
    stats["parallel"] = {"n": tsv.count("\n") - 1}

    for name, fmt, key in [("instruct_alpaca.jsonl", "alpaca", "alpaca"),
                           ("instruct_sharegpt.jsonl", "sharegpt", "sharegpt"),
                           ("instruct_messages", "messages", "messages")]:
        recs, lab = instruct_set(name, fmt)
        if fmt == "messages":
            write_messages_dataset(os.path.join(out, name), recs)
        else:
            write_bytes(os.path.join(out, name), jsonl(recs))
        labels[name] = lab
        stats[key] = {"n": len(recs)}

    write_text(os.path.join(out, "labels.json"), json.dumps(labels, ensure_ascii=False, indent=1) + "\n")

    en_train = [r["text"] for r in en_recs if en_labels.get(r["id"]) in (None, "tech_code_keep")]
    en_train += [line.split("\t")[1] for i, line in enumerate(tsv.splitlines()[1:]) if str(i) not in par_labels]
    zh_train = [r["text"] for r in zh_recs if r["id"] not in zh_labels]
    tok_info = build_tokenizer(os.path.join(out, "tokenizer"), en_train, zh_train)
    write_text(os.path.join(out, "README.md"), readme(stats, labels, details, tok_info))

    for fname, lab in labels.items():
        print(f"{fname:26s} {stats_n(stats, fname):4d} records  labels: {label_counts(lab)}")
    print("tokenizer:", tok_info)


def stats_n(stats, fname):
    key = {"zh_web.jsonl.gz": "zh_web", "zh_wiki.parquet": "zh_wiki", "en_web.jsonl.zst": "en_web",
           "parallel.tsv": "parallel", "instruct_alpaca.jsonl": "alpaca", "instruct_sharegpt.jsonl": "sharegpt",
           "instruct_messages": "messages"}[fname]
    return stats[key]["n"]


if __name__ == "__main__":
    main()
