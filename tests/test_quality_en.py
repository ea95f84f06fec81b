"""The vectorised Gopher repetition filter decides exactly as datatrove's, on random and on real text."""

from __future__ import annotations

import json
from pathlib import Path

import zstandard
from datatrove.data import Document
from datatrove.pipeline.filters import GopherRepetitionFilter
from datatrove.pipeline.filters.gopher_repetition_filter import (
    find_all_duplicate,
    find_top_duplicate,
    get_n_grams,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.quality_en import (
    FastEnglishWordTokenizer,
    FastGopherRepetitionFilter,
    WordNgrams,
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
