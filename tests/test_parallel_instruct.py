"""Parallel pairs and instruction records: what is kept and what is removed, on real-style text.

The pairs are interface strings and documentation sentences as Chinese translations have them (GIMP's
and debian-reference's kinds: accelerators, placeholders, markup, commands); the answers are the kinds
debian-faq has. Measurements behind the defaults: docs/recipes.md (`curation.parallel`, `curation.instruct`).
"""

from __future__ import annotations

import json

import pytest
from datatrove.data import Document
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.config import InstructSection, ParallelSection
from curation.instruct import InstructionFilter, truncation
from curation.lid import OfflineLID176
from curation.parallel import ParallelPairFilter, numbers_agree, plain


def pair_decision(zh: str, en: str, config: ParallelSection | None = None) -> str:
    result = ParallelPairFilter(config or ParallelSection()).filter(
        Document(text="", id="p", metadata={"zh": zh, "en": en})
    )
    return "kept" if result is True else result[1]


# --- language ID ------------------------------------------------------------------------------


def test_language_scores_are_what_fasttext_own_predict_gives():
    """fastText's Python `predict` appends "\\n" (the end-of-sentence token) and refuses inner newlines;
    ours must give its numbers (fasttext-numpy2's `predict` works with NumPy 2 as it is)."""
    lid = OfflineLID176(k=5)
    for text in [
        "认证",
        "检测到死锁",
        "Deadlock detected",
        "Save the file before closing it.",
        "第一行\n第二行 second line",
    ]:
        labels, probs = lid.model.predict(text.replace("\n", " "), k=5)
        expected = {label.removeprefix("__label__"): float(p) for label, p in zip(labels, probs, strict=True)}
        assert lid.scores(text) == pytest.approx(expected)


# --- parallel pairs: kept ---------------------------------------------------------------------

UI_PAIRS = [
    ("认证", "Authentication"),
    ("检测到死锁", "Deadlock detected"),
    ("值", "value"),
    ("是", "Yes"),
    ("描述", "description of key binding"),
    ("文件(_F)", "_File"),
    ("打开(&O)…", "&Open…"),
    ("另存为(_A)...", "Save _As..."),
    ("%d 个文件", "%d files"),
    ("已删除 %(count)s 个项目", "Deleted %(count)s items"),
    ("第 %1 页，共 %2 页", "Page %1 of %2"),
    ("{0} 的属性", "Properties of {0}"),
    ("<b>警告：</b>磁盘已满", "<b>Warning:</b> the disk is full"),
    ("保存 &amp; 退出", "Save &amp; Quit"),
    ("GNU 核心工具", "GNU core utilities"),
    ("Postfix 别名数据库维护", "Postfix alias database maintenance"),
    ("umask值", "umask"),
    ("testing (bookworm) release 版本", "testing (bookworm) release"),
    ("显示滤镜", "Display Filters"),
    ("拉伸对比度", "Stretch Contrast"),
    ("压缩最后两个提交为一个", "squash last 2 commits into one"),
    ("通过“单一UNIX规范（版本3）”获取（英语文档）", 'fetch "The Single UNIX Specifications v3"'),
]

SENTENCE_PAIRS = [
    ("我有三个苹果，它们都很甜。", "I have three apples, and they are all sweet."),
    (
        "每个 Debian 档案库的网址都有一个这样的 “Release” 文件，例如 “http://deb.debian.org/debian/dists/unstable/Release”，内容如下。",
        'Each suite of the Debian archive has a top level "Release" file, e.g., "http://deb.debian.org/debian/dists/unstable/Release", as follows.',
    ),
    ("第 8 章 国际化和本地化", "Chapter 8. I18N and L10N"),
    (
        "在 Debian 社群契约的第4条和第5条对这进行了明确的解释：",
        "These are precisely explained in the 4th and 5th terms of Debian Social Contract:",
    ),
    (
        "到 2021 年 4 月，许多流行的 GUI 应用程序已经被移植到了 Wayland 服务端显示协议。",
        "As of April 2021, many popular GUI applications have been migrated to the Wayland display server protocol.",
    ),
]


@pytest.mark.parametrize("zh,en", UI_PAIRS + SENTENCE_PAIRS)
def test_real_translations_are_kept(zh, en):
    assert pair_decision(zh, en) == "kept"


def test_plain_takes_out_placeholders_markup_entities_and_accelerators():
    assert plain("文件(_F)") == "文件"
    assert plain("Save _As...") == "Save As..."
    assert plain("&Open <b>%s</b> in {0}") == "Open in"
    assert plain("AT&T file_name 50% off") == "AT&T file_name 50% off"
    assert plain("Save &amp; Quit") == "Save & Quit"
    assert plain("see http://example.com/a%20b?x={0}") == "see http://example.com/a%20b?x={0}"


def test_numbers_may_be_words_or_inside_words_on_the_other_side():
    assert numbers_agree("双向远程同步", "2-way remote synchronization")
    assert numbers_agree("版本 3", "v3")
    assert numbers_agree("恐龙在大约6600万年前灭绝。", "Dinosaurs died out about 66 million years ago.")
    assert not numbers_agree("我有3个苹果。", "I have 5 apples.")


# --- parallel pairs: removed ------------------------------------------------------------------


@pytest.mark.parametrize(
    "zh,en,reason",
    [
        ("", "Hello there.", "empty_side"),
        ("Raise Layer", "Raise Layer", "identical_sides"),  # the untranslated GIMP help keeps the English
        ("%s", "%s", "too_short"),  # nothing but a placeholder
        ("Good morning everyone.", "Good morning everyone!", "zh_side_not_chinese"),
        ("ファイルを開く", "Open File", "zh_side_not_chinese"),  # Japanese, not Chinese
        (
            "Debian security FAQ。",
            "Debian security FAQ.",
            "zh_side_not_chinese",
        ),  # untranslated but for the 。
        ("认证", "认证失败", "copied_side"),
        ("同上", ", ,", "en_side_not_english"),
        ("软件包", "Пакет", "en_side_not_english"),  # Cyrillic
        (
            "今天我们学习新课文。",
            "Nous apprenons une nouvelle leçon aujourd'hui, mes amis, avec plaisir.",
            "en_side_not_english",
        ),
        (
            "今天我们来学习一篇非常长而且非常有意思的新课文，大家要认真听讲，下课以后还要写一篇读后感。",
            "It is short.",
            "length_ratio",
        ),
        (
            "如果您运行 stable，您需要留心的仅仅是跟踪安全更新。",
            "If you are running stable, all you need to be aware of is to keep track of the secu",
            "truncated_side",
        ),
        ("我有3个苹果。", "I have 5 apples.", "numbers_mismatch"),
    ],
)
def test_junk_pairs_are_removed_with_their_reason(zh, en, reason):
    assert pair_decision(zh, en) == reason


@pytest.mark.parametrize(
    "zh,en,reason",
    [
        ("消息递交端口（587）", "remove all messages", "numbers_mismatch"),
        (
            "对于使用 stable 套件的 Debian 系统而言，在 “/etc/apt/sources.list” 中包含带有 “http://security.debian.org/” 的一行是不错的主意。它会启用安全更新。",
            "It speeds up the updates of the archive meta data.",
            "length_ratio",
        ),
    ],
)
def test_misaligned_pairs_are_removed_by_length_or_numbers(zh, en, reason):
    """Neighbouring rows of a table. (A misaligned pair of matching lengths without numbers or URLs
    passes every check here: these filters judge each side and their proportions, not meaning.)"""
    assert pair_decision(zh, en) == reason


def test_short_side_thresholds_are_recipe_keys():
    """With short_en_letters 0 every en side goes to fastText, which has no usable label for one word
    (P(en) of "Colors" is 0.09, of "Layer" 0.13)."""
    assert pair_decision("颜色", "Colors") == "kept"
    assert pair_decision("颜色", "Colors", ParallelSection(short_en_letters=0)) == "en_side_not_english"


PLACEHOLDER_STYLES = [
    ("%s", "%s"),
    ("%d", "%d"),
    ("{0}", "{0}"),
    ("{}", "{}"),
    ("%(name)s", "%(name)s"),
    ("%1", "%1"),
    ("%1$s", "%1$s"),
    ("${name}", "${name}"),
    ("<b>%s</b>", "<b>%s</b>"),
]
TEMPLATES = [
    ("{P} 个文件", "{P} files"),
    ("无法打开文件 “{P}”", 'Could not open the file "{P}"'),
    ("已删除 {P} 个项目，共 3 个", "Deleted {P} of 3 items"),
    ("{P} 的属性", "Properties of {P}"),
    ("正在下载 {P}……", "Downloading {P}…"),
    (
        "用户 {P} 不存在。请检查用户名后重试。",
        "The user {P} does not exist. Check the user name and try again.",
    ),
    ("{P}", "{P} seconds"),
    ("图层 {P}", "Layer {P}"),
    ("检测到死锁：{P}", "Deadlock detected: {P}"),
]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(TEMPLATES), st.sampled_from(PLACEHOLDER_STYLES), st.sampled_from(PLACEHOLDER_STYLES))
def test_placeholder_style_never_changes_the_decision(template, style_a, style_b):
    zh, en = template
    decide = lambda style: pair_decision(zh.replace("{P}", style[0]), en.replace("{P}", style[1]))  # noqa: E731
    assert decide(style_a) == decide(style_b)


# --- instructions -----------------------------------------------------------------------------


def answer_decision(answer: str, prompt: str = "Why?", config: InstructSection | None = None) -> str:
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
    result = InstructionFilter(config or InstructSection()).filter(
        Document(text="", id="c", metadata={"messages": messages})
    )
    return "kept" if result is True else result[1]


@pytest.mark.parametrize(
    "prompt,answer",
    [
        ("What is the capital of France?", "Paris"),
        ("Is unstable newer than stable?", "是的"),
        ("Which answer is right? A) 3 B) 4", "B"),
        (
            "How do I hold back a package?",
            "There are three ways of holding back packages, with dpkg, apt or aptitude",
        ),
        (
            "What is Debian GNU/Linux?",
            "Debian GNU/Linux 是 Linux 操作系统的一个发行版，以及其上运行的无数软件包",
        ),
        (
            "Where is the paper size kept?",
            "Install libpaper1. This setting will be kept in the file /etc/papersize",
        ),
        (
            "How do I hold a package?",
            "With aptitude:\n\naptitude hold package_name\n\nand remove the hold with\n\naptitude unhold package_name",
        ),
        ("How do I list packages?", "Run:\n\n```\ndpkg --list 'foo*'\n```"),
        ("Give the command.", "dpkg --status packagename"),
        (
            "写一张请假条。",
            "王经理：\n您好！我因身体不适，需要在明天请假一天。如有紧急事情，可以随时给我打电话。\n谢谢！\n张明",
        ),
        (
            "Write a haiku about the sea.",
            "Grey waves fold and break\nsalt wind combs the empty shore\ngulls argue the tide",
        ),
        (
            "What about rpm?",
            "There are ports of this tool to other package managers, like Red Hat package manager, also known as rpm",
        ),
    ],
)
def test_complete_answers_without_a_final_period_are_kept(prompt, answer):
    assert answer_decision(answer, prompt) == "kept"


@pytest.mark.parametrize(
    "prompt,answer,why",
    [
        ("Show me.", "Run this:\n\n```bash\napt-get update\n", "unclosed code fence"),
        ("Which release?", "The stable release (codename bookworm, see the release notes", "unclosed ()"),
        ("区别是什么？", "Debian 政策（Debian Policy）要求这类符号链接（到 libf", "unclosed （）"),
        ("How do I start?", "Read the New Maintainers' Guide, available in the", "stops mid-clause"),
        ("为什么？", "这些软件包没有任何已知的严重缺陷，并且", "stops mid-clause"),
        (
            "Which directory has the non-free packages?",
            "stable/non-free/: This directory contains pa",
            "cut mid-word",
        ),
        (
            "What is unstable?",
            "Packages in stable are well tested. Packages in unstable are the newest, but the",
            "stops mid-clause",
        ),
        ("What is Debian?", "Deb", "cut mid-word"),
        ("Why?", "Consider the following situation:\n\nImagine you are i", "stops mid-clause"),
        (
            "为什么？",
            "stable 中的软件包版本非常陈旧。然而，它们已经经过了反复测试。可以十分有信心地说，这些软件包没有任何已知的严重",
            "stops mid-sentence",
        ),
    ],
)
def test_cut_answers_are_removed(prompt, answer, why):
    assert truncation(answer, prompt, InstructSection()) == why
    assert answer_decision(answer, prompt) == "truncated_answer"


def test_an_answer_exactly_at_a_length_limit_without_a_sentence_end_is_cut():
    head, tail = "Debian supports these architectures: amd64, arm64, armel,", " armhf"
    answer = head + " " * (512 - len(head) - len(tail)) + tail
    assert truncation(answer, "", InstructSection()) == "stops at 512 characters"
    assert truncation(answer + ".", "", InstructSection()) is None
    assert truncation(answer, "", InstructSection(length_limits=[])) is None
    assert answer_decision(head + tail) == "kept"


@pytest.mark.parametrize("answer", ["", "   ", "...", "？"])
def test_empty_answers_are_removed(answer):
    assert answer_decision(answer) == "empty_answer"


@pytest.mark.parametrize(
    "prompt,answer,decision",
    [
        ("Can I automatically update the system?", "Y", "empty_answer"),  # the start of "Yes, you can..."
        ("“测试”的过程是怎样的？它是如何“冻结”的？", "当", "empty_answer"),
        ("如何在不牺牲安全性的情况下提供对硬件外设的访问？", "许多在", "truncated_answer"),
        ("2 + 2 = ?", "4", "kept"),
        ("Which answer is right? A) 3 B) 4", "B", "kept"),
        ("这个软件包在 stable 里吗？", "是", "kept"),
        ("Capital of Japan?", "Tokyo", "kept"),
    ],
)
def test_stub_answers_are_empty_and_one_character_answers_that_answer_are_kept(prompt, answer, decision):
    assert answer_decision(answer, prompt) == decision


def test_an_answer_repeating_a_paragraph_is_a_loop():
    paragraph = "Debian GNU/Linux is a particular distribution of the Linux operating system."
    assert answer_decision("\n\n".join([paragraph] * 6)) == "repeated_answer"
    assert answer_decision("\n\n".join([paragraph] * 2)) == "kept"
    assert (
        answer_decision("\n\n".join([paragraph] * 6), config=InstructSection(max_paragraph_repeats=0))
        == "kept"
    )
    assert (
        answer_decision(
            "aptitude hold foo\n\nor\n\ndpkg hold foo\n\nor\n\napt-mark hold foo\n\nor\n\nedit it."
        )
        == "kept"
    )


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcdefghij klmnop,的是在我们了。")), min_size=1, max_size=80))
def test_an_answer_ending_a_sentence_is_never_cut_and_spaces_after_it_change_nothing(body):
    """Final punctuation ends every sign but an unclosed code fence; trailing spaces are not a cut."""
    answer = body + "。"
    assert truncation(answer, "", InstructSection()) is None
    assert truncation(answer + "  \n", "", InstructSection()) is None


# --- the labelled real text, when the realtext build exists ----------------------------------


def test_labelled_pairs_good_kept_and_junk_removed(labelled):
    items = labelled("pairs")
    keep = ParallelPairFilter(ParallelSection(drop_duplicate_pairs=False))
    decided = [
        (
            item,
            keep.filter(Document(text="", id=item["id"], metadata={"zh": item["zh"], "en": item["en"]}))
            is True,
        )
        for item in items
    ]
    good = [kept for item, kept in decided if item["label"] == "good"]
    junk = [kept for item, kept in decided if item["label"] == "junk"]
    assert sum(good) >= 0.95 * len(good), json.dumps(
        [i["id"] for i, k in decided if i["label"] == "good" and not k][:20]
    )
    assert len(junk) - sum(junk) >= 0.8 * len(junk)


def test_labelled_instructions_good_kept(labelled):
    items = labelled("instruct")
    keep = InstructionFilter(InstructSection(drop_duplicate_prompts=False))
    good = [item for item in items if item["label"] == "good"]
    kept = [
        item
        for item in good
        if keep.filter(Document(text="", id=item["id"], metadata={"messages": item["messages"]})) is True
    ]
    assert len(kept) >= 0.95 * len(good)
