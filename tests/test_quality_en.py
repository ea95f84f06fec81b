"""The English filters: the vectorised Gopher repetition filter decides exactly as datatrove's; the
FineWeb, Gopher and C4 subclasses keep technical documentation, never rewrite text unasked, and decide as
datatrove does with datatrove's settings; the defaults on the labelled real English text."""

from __future__ import annotations

import json
from pathlib import Path

import zstandard
from datatrove.data import Document
from datatrove.pipeline.filters import C4QualityFilter, FineWebQualityFilter, GopherRepetitionFilter
from datatrove.pipeline.filters.gopher_repetition_filter import (
    find_all_duplicate,
    find_top_duplicate,
    get_n_grams,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.config import LanguageIDSection
from curation.quality_en import (
    EnglishC4QualityFilter,
    EnglishFineWebQualityFilter,
    EnglishGopherQualityFilter,
    EnglishQualitySection,
    FastEnglishWordTokenizer,
    FastGopherRepetitionFilter,
    WordNgrams,
    english_filters,
    is_technical_line,
    repeated_ngram_chars,
    top_ngram_chars,
)

DEMO = Path(__file__).resolve().parents[1] / "recipes" / "demo_data"
# few, overlapping words ("ab c" and "a bc" join to the same characters) and every kind of whitespace
WORDS = st.sampled_from(["a", "b", "ab", "c", "bc", "abc", "the", "cat", "乐", "xé", "😀"])
SPACES = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", "\u3000", "\xa0", "\u2028", " \n "])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(WORDS, SPACES), max_size=60), SPACES)
def test_ngram_statistics_equal_datatrove(tokens, lead):
    text = lead + "".join(word + space for word, space in tokens)
    words = text.split()
    ngrams = WordNgrams(text)
    assert ngrams.n_words == len(words)
    for n in (1, 2, 3, 4):
        if len(words) >= n:
            assert top_ngram_chars(ngrams, n) == find_top_duplicate(get_n_grams(words, n))
    for n in (1, 2, 5, 7, 10):
        assert repeated_ngram_chars(ngrams, n) == find_all_duplicate(words, n)


def test_filter_decisions_equal_datatrove_on_the_demo_web_text():
    with open(DEMO / "en_web.jsonl.zst", "rb") as f:
        lines = zstandard.ZstdDecompressor().stream_reader(f).read().decode().splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.startswith("{") and '"text"' in line]
    tokenizer = FastEnglishWordTokenizer()
    stock, ours = GopherRepetitionFilter(language=tokenizer), FastGopherRepetitionFilter(language=tokenizer)
    decisions = [(stock.filter(Document(text=t, id="")), ours.filter(Document(text=t, id=""))) for t in texts]
    assert len(texts) > 300
    assert all(a == b for a, b in decisions)
    assert 0 < sum(a is not True for a, _ in decisions) < len(texts)  # both kinds of decision occur


# --- the English filters on technical documentation (recalibration, issue 14) ---

# a documentation section as the Debian documentation reads once extracted: a heading that is also in
# the table of contents, prose, shell commands and their output, an option list and a table
MANUAL = """2.3. Basic package management

2.3. Basic package management

Repository based package management operations on the Debian system can be performed by many tools.
Here, we explain the basic package management tools that every administrator of a Debian system uses.

To update the package index and upgrade the installed packages, run the following commands as root:

$ sudo apt update
$ sudo apt full-upgrade

The output lists the packages to upgrade and asks for a confirmation before it changes anything:

Reading package lists... Done
Building dependency tree... Done
Reading package lists... Done

-y, --yes  answer yes to every question
-s, --simulate  show what would be done without doing it
-q, --quiet  less output, for log files

package    popcon    size    description
apt        V:900     4000    commandline package manager
aptitude   V:40      4500    terminal-based package manager

If something goes wrong, the system keeps the previous versions of the packages in its cache, so that
you can install them again with dpkg. See the chapter on the package system for the details of it.
"""

# web boilerplate: one sentence of content, the same subscription line repeated after every paragraph
BOILERPLATE = "\n".join(
    f"{sentence}\nSubscribe to our newsletter and follow us on Twitter for the latest updates!"
    for sentence in [
        "The development of open-source software depends on contributions from volunteers all over the world.",
        "More and more people use smart speakers to check the weather and play music at home.",
        "Using strong passwords and enabling two-step verification reduces the risk of account theft.",
        "The spread of fast mobile networks has opened up new possibilities for remote medicine and work.",
    ]
)


def _reason(step, text):
    result = step.filter(Document(text=text, id="x"))
    return True if result is True else result[1]


def test_technical_lines_are_commands_options_code_and_tables_not_prose():
    technical = [
        "$ sudo apt update",
        "  indented code",
        "-v, --verbose  be verbose",
        "}",
        "[Match]",
        "Name=en*",
        "apt        V:900     4000    commandline package manager",
        "coreutils | V:908 | 18062 | nice(1)",
    ]
    prose = [
        "Repository based package management operations are performed by many tools.",
        "To update the index, run the following commands as root:",
        "2.3. Basic package management",
        "Home | About Us | Services | Blog | Contact",
        "This command opens a dialog (if you want one).",
    ]
    assert all(is_technical_line(line) for line in technical)
    assert not any(is_technical_line(line) for line in prose)


def test_fineweb_keeps_technical_documentation_that_stock_fineweb_removes():
    tokenizer = FastEnglishWordTokenizer()
    stock = FineWebQualityFilter(language=tokenizer)
    ours = english_filters(EnglishQualitySection())[-1]
    assert isinstance(ours, EnglishFineWebQualityFilter)
    assert _reason(stock, MANUAL) == "char_dup_ratio"  # the heading twice, "Reading package lists" twice
    assert _reason(ours, MANUAL) is True


def test_fineweb_still_removes_repeated_boilerplate_lines():
    ours = english_filters(EnglishQualitySection(gopher_repetition=False))[-1]
    assert _reason(ours, BOILERPLATE) == "char_dup_ratio"


def test_fineweb_with_datatroves_settings_decides_as_datatrove():
    with open(DEMO / "en_web.jsonl.zst", "rb") as f:
        lines = zstandard.ZstdDecompressor().stream_reader(f).read().decode().splitlines()
    texts = [json.loads(line)["text"] for line in lines if '"text"' in line] + [MANUAL, BOILERPLATE]
    tokenizer = FastEnglishWordTokenizer()
    stock = FineWebQualityFilter(language=tokenizer)
    ours = EnglishFineWebQualityFilter(
        skip_technical_lines=False, char_dup_min_repeats=2, count_blank_lines=True, language=tokenizer
    )
    decisions = [(_reason(stock, t), _reason(ours, t)) for t in texts]
    assert all(a == b for a, b in decisions)
    assert len({a for a, _ in decisions}) > 2  # kept and at least two rules


def test_c4_decides_without_rewriting_unless_the_recipe_asks():
    text = "Basic usage\n\n" + MANUAL
    (c4,) = [s for s in english_filters(EnglishQualitySection()) if isinstance(s, EnglishC4QualityFilter)]
    doc = Document(text=text, id="x")
    assert c4.filter(doc) is True
    assert doc.text == text and "c4_lines_removed" not in doc.metadata

    (c4,) = [
        s
        for s in english_filters(EnglishQualitySection(c4_remove_lines=True))
        if isinstance(s, EnglishC4QualityFilter)
    ]
    doc = Document(text=text, id="x")
    assert c4.filter(doc) is True
    assert "Basic usage" not in doc.text and "}" not in doc.text  # lines of fewer than 3 words go
    assert doc.metadata["c4_chars_removed"] == len(text) - len(doc.text) > 0
    assert doc.metadata["c4_lines_removed"] == len(text.splitlines()) - len(doc.text.splitlines())


def test_c4_decisions_and_removed_lines_equal_datatroves():
    with open(DEMO / "en_web.jsonl.zst", "rb") as f:
        lines = zstandard.ZstdDecompressor().stream_reader(f).read().decode().splitlines()
    texts = [json.loads(line)["text"] for line in lines if '"text"' in line] + [MANUAL]
    tokenizer = FastEnglishWordTokenizer()
    stock = C4QualityFilter(language=tokenizer)  # C4's own settings: end punctuation, curly brackets
    ours = EnglishC4QualityFilter(remove_lines=True, language=tokenizer)
    for text in texts:
        a, b = Document(text=text, id="x"), Document(text=text, id="x")
        assert stock.filter(a) == ours.filter(b)
        assert a.text == b.text


def test_every_threshold_reaches_its_filter():
    short = "Install the package with apt and read its documentation in the usual folder. " * 3  # 42 words

    def gopher(config):
        return next(s for s in english_filters(config) if isinstance(s, EnglishGopherQualityFilter))

    assert _reason(gopher(EnglishQualitySection()), short) == "gopher_short_doc"
    assert _reason(gopher(EnglishQualitySection(min_doc_words=30)), short) is True
    repetition = english_filters(EnglishQualitySection(mojibake=False, top_n_grams=[(2, 0.05)]))[0]
    assert _reason(repetition, short) == "top_2_gram"
    fineweb = english_filters(
        EnglishQualitySection(fineweb_char_dup_min_repeats=2, fineweb_char_dup_ratio=0.01)
    )[-1]
    assert _reason(fineweb, MANUAL) == "char_dup_ratio"


def test_recipe_repetition_thresholds_keep_the_vectorised_filter_identical():
    with open(DEMO / "en_web.jsonl.zst", "rb") as f:
        lines = zstandard.ZstdDecompressor().stream_reader(f).read().decode().splitlines()
    texts = [json.loads(line)["text"] for line in lines if '"text"' in line] + [MANUAL, BOILERPLATE]
    config = EnglishQualitySection()
    tokenizer = FastEnglishWordTokenizer()
    ours = next(s for s in english_filters(config) if isinstance(s, FastGopherRepetitionFilter))
    stock = GopherRepetitionFilter(
        top_n_grams=tuple(map(tuple, config.top_n_grams)),
        dup_n_grams=tuple(map(tuple, config.dup_n_grams)),
        language=tokenizer,
    )
    assert all(_reason(stock, t) == _reason(ours, t) for t in texts)


def test_real_english_documentation_is_kept_and_junk_removed(labelled):
    """The labelled Debian documentation (realtext): language ID at the default threshold, then the
    English filters with the recipe's defaults. Measured: docs/curation_stages.md."""
    items = labelled("en_docs")
    from curation.config import NormalizeSection
    from curation.lid import ExpectedLanguageFilter
    from curation.normalize import Normalizer

    normalizer = Normalizer(NormalizeSection(), chinese=False)
    steps = [
        ExpectedLanguageFilter("en", LanguageIDSection().thresholds["en"]),
        *english_filters(EnglishQualitySection()),
    ]
    kept = {"good": 0, "junk": 0}
    total = {"good": 0, "junk": 0}
    for item in items:
        doc = Document(text=item["text"], id=item["id"])
        normalizer.normalize(doc)
        total[item["label"]] += 1
        kept[item["label"]] += all(step.filter(doc) is True for step in steps)
    removed_good, removed_junk = total["good"] - kept["good"], total["junk"] - kept["junk"]
    assert total["good"] >= 100 and total["junk"] >= 100
    # measured: 146 of 158 good kept, 168 of 180 junk removed (docs/curation_stages.md)
    assert kept["good"] / total["good"] >= 0.9
    assert removed_junk / total["junk"] >= 0.9
    assert removed_junk / (removed_junk + removed_good) >= 0.9
