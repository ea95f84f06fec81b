"""The real-text set: HTML extraction, the documented corruptions, `load`, and (with the Debian
documentation packages installed) a full build that holds every labelled id."""

from __future__ import annotations

import json
import re

import pytest

import realtext
from realtext import RealTextMissing, load
from realtext.build import (
    build,
    corrupted_instructions,
    corrupted_pairs,
    main,
    wrong_language_instructions,
)
from realtext.corrupt import (
    boilerplate_repetition,
    cut_off,
    keyword_spam,
    machine_list,
    mojibake,
    truncate_mid_word,
)
from realtext.extract import page_blocks, sections

PAGE = """<html><head><title>Chapter 2. Packages</title><style>p {color: red}</style></head><body>
<div class="navheader"><table><tr><th>Chapter 2. Packages</th></tr>
<tr><td><a href="ch01.html">Prev</a></td><td><a href="ch03.html">Next</a></td></tr></table><hr/></div>
<div class="chapter"><h1 class="title"><a id="_packages"/>Chapter 2. Packages</h1>
<div class="toc"><p><strong>Table of Contents</strong></p><dl class="toc">
<dt><span class="section"><a href="#_apt">2.1. APT</a></span></dt>
<dt><span class="section"><a href="#_dpkg">2.2. dpkg</a></span></dt></dl></div>
<p>This chapter is about   package
management on Debian.</p>
<div class="section"><h2 class="title"><a id="_apt"/>2.1. APT</h2>
<p>Use <code>apt</code> to install packages, from <span class="guimenu">System</span> →
<span class="guimenuitem">Software</span>.</p>
<ul><li><p>apt update</p></li><li><p>apt upgrade</p></li></ul>
<pre class="screen">$ apt update
$ apt install   hello</pre>
<table><tr><th>command</th><th>action</th></tr><tr><td>apt update</td><td>refresh the index</td></tr></table>
</div>
<div class="section"><h2 class="title"><a id="_dpkg"/>2.2. dpkg</h2><div class="para">dpkg is the low level tool.</div></div>
</div>
<div class="navfooter"><hr/><table><tr><td>Chapter 1. Tutorials</td><td><a href="index.html">Home</a></td></tr></table></div>
</body></html>"""


# --- extraction --------------------------------------------------------------------------------


def test_extraction_drops_navigation_and_keeps_structure():
    blocks = page_blocks(PAGE)
    text = "\n".join(block.text for block in blocks)
    assert "Prev" not in text and "Next" not in text and "Home" not in text and "Tutorials" not in text
    assert "color: red" not in text
    kinds = [block.kind for block in blocks]
    assert kinds.count("heading") == 3 and kinds.count("toc") >= 2 and kinds.count("li") == 2
    pre = next(block for block in blocks if block.kind == "pre")
    assert pre.text == "$ apt update\n$ apt install   hello"  # line breaks and spaces kept
    assert "This chapter is about package management on Debian." in text  # whitespace collapsed
    rows = [block.text for block in blocks if block.kind == "row"]
    assert rows == ["command | action", "apt update | refresh the index"]
    assert next(block for block in blocks if block.gui).gui == ["System", "Software"]
    assert "dpkg is the low level tool." in text  # debian-handbook's <div class="para">


def test_sections_split_at_headings_with_stable_anchors():
    found = sections(page_blocks(PAGE), min_chars=10)
    assert [section.anchor for section in found] == ["toc", "_packages", "_apt", "_dpkg"]
    assert found[0].text == "- Table of Contents\n- 2.1. APT\n- 2.2. dpkg"
    apt = found[2].text
    assert apt.startswith("2.1. APT\n\nUse apt to install packages")
    assert "- apt update\n- apt upgrade" in apt and "$ apt update\n$ apt install   hello" in apt


def test_short_sections_merge_and_long_ones_split():
    merged = sections(page_blocks(PAGE), min_chars=300)
    assert [section.anchor for section in merged] == ["toc", "_packages"]  # everything under 300 chars
    paragraphs = "".join(f"<p>{'word ' * 60}{n}</p>" for n in range(10))
    long_page = f"<html><body><h1><a id='big'/>Big</h1>{paragraphs}</body></html>"
    parts = sections(page_blocks(long_page), min_chars=10, max_chars=1000)
    assert [section.anchor for section in parts][:3] == ["big", "big~2", "big~3"]
    assert all(len(section.text) <= 1000 for section in parts)
    assert sum(section.text.count("word") for section in parts) == 600  # nothing lost


# --- corruptions -------------------------------------------------------------------------------

EN = (
    "2.1. APT\n\nUse apt to install packages from the Debian archive.\n\n"
    "The apt command resolves dependencies, downloads packages and installs them. "
    "Packages come from the sources listed in sources.list.\n\n"
    "“Smart quotes” — and a dash — are non-ASCII."
)
ZH = (
    "2.1. APT\n\n使用 apt 从 Debian 档案库安装软件包。\n\n"
    "apt 命令会解析依赖关系，下载软件包并安装它们。软件包来自 sources.list 中列出的软件源。"
)


@pytest.mark.parametrize("function", [boilerplate_repetition, keyword_spam, mojibake, cut_off, machine_list])
@pytest.mark.parametrize("text", [EN, ZH])
def test_corruptions_are_deterministic_per_id(function, text):
    assert function(text, "doc#a") == function(text, "doc#a")
    outputs = {function(text, f"doc#{n}")[0] for n in range(8)}
    if function is not mojibake:
        assert len(outputs) > 1  # seeded by the id


def test_boilerplate_repetition_repeats_a_real_paragraph():
    text, detail = boilerplate_repetition(EN, "x")
    times = int(re.search(r"repeated (\d+) times", detail).group(1))
    assert 8 <= times <= 15
    paragraphs = EN.split("\n\n")
    block = max(paragraphs[1:], key=text.count)
    assert text.count(block) == times + 1  # the repeats plus the original
    assert f"a {len(block)}-character paragraph" in detail
    assert text.startswith("2.1. APT\n\n" + (block + "\n\n") * times) and text.endswith(paragraphs[-1])


@pytest.mark.parametrize("text", [EN, ZH])
def test_keyword_spam_appends_a_run_of_the_documents_words(text):
    out, detail = keyword_spam(text, "x")
    run = out.split("\n\n")[-1]
    words = re.search(r"\((.*)\)", detail).group(1).split(", ")
    separator = "、" if text is ZH else ", "
    items = run.split(separator)
    assert 30 <= len(items) <= 60 and set(items) == set(words)
    assert all(word in text for word in words)


def test_mojibake_garbles_the_encoding():
    zh, detail = mojibake(ZH, "x")
    assert "GBK" in detail and "使用" not in zh and zh == ZH.encode().decode("gbk", "replace")
    assert zh.startswith("2.1. APT")  # ASCII survives, the Chinese does not
    en, detail = mojibake(EN, "x")
    assert "â€œSmart quotesâ€" in en and "cp1252" in detail
    assert en.replace("â€œ", "").startswith("2.1. APT")  # ASCII text is untouched


@pytest.mark.parametrize("text", [EN, ZH])
def test_cut_off_is_a_short_fragment_cut_mid_word(text):
    out, detail = cut_off(text, "x")
    flat = re.sub(r"\s+", " ", text)
    assert flat.startswith(out) and 10 < len(out) <= 200 and len(out) < len(flat)
    assert out[-1].isalnum()  # no final punctuation
    if text is EN:
        following = flat[len(out)]
        assert following.isalpha()  # stopped inside a word
    assert f"first {len(out)} characters" in detail


def test_machine_list_is_generated_lines_only():
    out, detail = machine_list(EN, "x")
    lines = out.splitlines()
    assert 40 <= len(lines) <= 80 and f"{len(lines)} generated lines" in detail
    assert all(re.fullmatch(r"item-\d{4}: \S+ \S+ 0x[0-9a-f]{8} \d+", line) for line in lines)


def test_truncate_mid_word_keeps_a_prefix():
    text = "The apt command resolves dependencies and downloads packages."
    out = truncate_mid_word(text, "x", 0.3)
    assert text.startswith(out) and out[-1].isalnum() and len(out) < len(text) * 0.35


ZH_SENTENCES = [
    "使用 apt 安装软件包。",
    "dpkg 是底层工具。",
    "软件源列在 sources.list 中。",
    "升级前请阅读发行说明。",
]
EN_SENTENCES = [
    "Use apt to install packages.",
    "dpkg is the low level tool.",
    "Package sources are listed in sources.list.",
    "Read the release notes before upgrading to the next major Debian release.",
]


def _pairs() -> list[dict]:
    return [
        {"id": f"m/p#s/b{n}", "zh": zh, "en": en, "origin": "m", "kind": "real", "block": "p"}
        for n, (zh, en) in enumerate(zip(ZH_SENTENCES, EN_SENTENCES, strict=True))
    ]


def test_pair_corruptions_do_what_they_say():
    real = _pairs()
    junk = corrupted_pairs(real)
    assert junk == corrupted_pairs(real)  # deterministic
    by_kind: dict[str, list[dict]] = {}
    for pair in junk:
        by_kind.setdefault(pair["kind"], []).append(pair)
        assert pair["id"] == pair["id"].split("@")[0] + "@" + pair["kind"]
    assert set(by_kind) == {"misaligned", "untranslated", "same_language", "truncated"}
    source = {pair["id"]: pair for pair in real}
    for pair in by_kind["misaligned"]:
        number = int(pair["id"].split("/b")[1].split("@")[0])
        assert pair["zh"] == ZH_SENTENCES[number] and pair["en"] == EN_SENTENCES[number + 1]
    for pair in by_kind["untranslated"]:
        assert pair["zh"] == pair["en"] == source[pair["id"].split("@")[0]]["en"]
    for pair in by_kind["same_language"]:
        assert pair["en"] in ZH_SENTENCES
    for pair in by_kind["truncated"]:
        full = source[pair["id"].split("@")[0]]["en"]
        assert (
            full.startswith(pair["en"]) and len(pair["en"]) <= len(full) * 0.35 and pair["en"][-1].isalnum()
        )


def _records(language: str) -> list[dict]:
    answers = ZH_SENTENCES if language == "zh" else EN_SENTENCES
    return [
        {
            "id": f"{language}/debian-faq/p#q{n}",
            "language": language,
            "origin": "faq",
            "kind": "real",
            "messages": [
                {"role": "user", "content": f"Q{n}?"},
                {"role": "assistant", "content": " ".join([answer] * 4)},
            ],
        }
        for n, answer in enumerate(answers)
    ]


def test_instruction_corruptions_do_what_they_say():
    zh, en = _records("zh"), _records("en")
    junk = corrupted_instructions(en, "en") + wrong_language_instructions(zh, en)
    assert junk == corrupted_instructions(en, "en") + wrong_language_instructions(zh, en)
    answers = {record["id"]: record["messages"][1]["content"] for record in zh + en}
    for record in junk:
        base = record["id"].split("@")[0]
        question, answer = record["messages"][0]["content"], record["messages"][1]["content"]
        assert question == f"Q{base[-1]}?"  # the question is kept
        original = answers[base]
        if record["kind"] == "cut_answer":
            assert original.startswith(answer) and len(answer) < len(original) * 0.35 and answer[-1].isalnum()
        elif record["kind"] == "wrong_answer":
            assert answer != original and answer in answers.values()
        elif record["kind"] == "empty_answer":
            assert original.startswith(answer) and 1 <= len(answer) <= 3
        elif record["kind"] == "repeated_answer":
            first = original.split("\n\n")[0]
            assert answer == "\n\n".join([first] * answer.count(first)) and answer.count(first) >= 6
        elif record["kind"] == "wrong_language":
            other = "en" if base.startswith("zh/") else "zh"
            assert answer == answers[other + base[2:]]
    assert {record["kind"] for record in junk} == {
        "cut_answer",
        "wrong_answer",
        "empty_answer",
        "repeated_answer",
        "wrong_language",
    }


# --- load --------------------------------------------------------------------------------------


def test_load_without_a_build_says_what_to_run(tmp_path):
    with pytest.raises(RealTextMissing) as error:
        load("zh_docs", tmp_path / "absent")
    message = str(error.value)
    assert "\n" not in message
    assert "python -m realtext.build" in message or "apt-get install" in message


def test_load_rejects_an_unknown_set():
    with pytest.raises(ValueError, match="zh_docs, en_docs, pairs, instruct"):
        load("docs")


def test_labels_are_well_formed_and_about_half_junk():
    for name in realtext.SETS:
        labels = realtext.labels(name)
        assert all(label in ("good", "junk") and reason.strip() for label, reason in labels.values())
        junk = sum(label == "junk" for label, _ in labels.values())
        assert 0.4 <= junk / len(labels) <= 0.65, name
        corrupted = [item_id for item_id in labels if "@" in item_id]
        assert all(labels[item_id][0] == "junk" for item_id in corrupted)
    assert len(realtext.labels("instruct")) >= 150
    assert all(len(realtext.labels(name)) >= 300 for name in ("zh_docs", "en_docs", "pairs"))


def test_build_without_the_packages_fails_in_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(realtext, "PACKAGE_FILES", {"debian-reference-en": str(tmp_path / "none.html")})
    assert main(["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "apt-get install debian-reference-en" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", realtext.SETS)
def test_labelled_ids_exist_in_the_build(name, labelled):
    items = labelled(name)  # a fresh build of the installed packages (tests/conftest.py)
    missing = set(realtext.labels(name)) - {item["id"] for item in items}
    assert not missing, (
        f"labelled ids absent from the build (rebuild: python -m realtext.build): {sorted(missing)[:5]}"
    )


@pytest.mark.slow
def test_a_fresh_build_is_deterministic_and_holds_every_label(tmp_path):
    if realtext.missing_packages():
        pytest.skip(f"apt-get install {' '.join(realtext.missing_packages())}")
    build(tmp_path / "a")
    build(tmp_path / "b")
    for name in realtext.SETS:
        first = (tmp_path / "a" / f"{name}.jsonl").read_bytes()
        assert first == (tmp_path / "b" / f"{name}.jsonl").read_bytes(), name
        items = load(name, tmp_path / "a")
        assert {item["id"] for item in items} == set(realtext.labels(name))
    manifest = json.loads((tmp_path / "a" / "build.json").read_text(encoding="utf-8"))
    assert set(manifest["packages"]) == set(realtext.PACKAGES)
    pair = next(item for item in load("pairs", tmp_path / "a") if item["label"] == "good")
    assert pair["zh"] and pair["en"]
