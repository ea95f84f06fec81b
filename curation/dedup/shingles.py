"""Shingles (hashed n-grams of normalised characters or words) and MinHash signatures, vectorised.

Chinese has no spaces, so a word tokenizer either finds no words (datatrove's default English one) or
is slow (jieba). We shingle Chinese on characters and English on words, hash the n-grams with
`common.ngrams`, and compute the MinHash minima for a whole batch of documents at once with numpy,
with no Python loop over characters or shingles. Used by near deduplication (`curation.dedup`) and
decontamination (`curation.decontam`).
"""

from __future__ import annotations

import unicodedata
from typing import Literal

import numpy as np
from datatrove.utils.text import PUNCTUATION_SET

from common.ngrams import NGRAM_WEIGHTS, POSITION_WEIGHTS, mix64, ngram_hashes
from common.text import codepoints, is_han

Mode = Literal["chars", "words"]

_U64 = np.uint64
_MAX_WORD_LEN = len(POSITION_WEIGHTS)  # position weights repeat after this many characters inside one word
_CHAR_WEIGHT = NGRAM_WEIGHTS[-1]  # a character's token hash is mix64(code point * this)


_MAP: np.ndarray | None = None
_DIGITS: np.ndarray | None = None  # per BMP code point: "0".."9" for a decimal digit of any script, else 0
_SEPARATOR, _DROP, _ZERO = 32, 0, 48


def _char_map() -> np.ndarray:
    """Per BMP code point, what normalisation turns it into (datatrove's `simplify_text` rules as a
    table): lowercase, accents stripped, digits to 0, punctuation/symbols/whitespace to a separator."""
    global _MAP, _DIGITS
    if _MAP is None:
        table = np.arange(0x10000, dtype=np.uint32)
        digits = np.zeros(0x10000, dtype=np.uint32)
        for cp in range(0x10000):
            ch = chr(cp)
            category = unicodedata.category(ch)
            if category == "Nd":  # before the punctuation test: datatrove's set holds some full-width digits
                digits[cp] = _ZERO + unicodedata.digit(ch)
            if ch in PUNCTUATION_SET or category[0] in "PSZ" or ch.isspace() or category == "Cc":
                table[cp] = _SEPARATOR
            elif category == "Nd":
                table[cp] = _ZERO
            elif category == "Mn":
                table[cp] = _DROP
            else:
                base = "".join(c for c in unicodedata.normalize("NFD", ch.lower()) if unicodedata.category(c) != "Mn")
                if len(base) == 1:
                    table[cp] = ord(base)
        _MAP, _DIGITS = table, digits
    return _MAP


def normalized_codepoints(text: str, mode: Mode, keep_digits: bool = False) -> np.ndarray:
    """Code points of `text` after normalisation; for "chars" without separators, for "words" with
    separators (32) between words. Runs of digits become one 0, as in datatrove, unless `keep_digits`
    (then every digit of any script becomes its ASCII digit, so "12" and "١٢" agree and "12" and "35"
    differ: templated records that differ only in their numbers are not near duplicates)."""
    cps = codepoints(text)
    table = _char_map()
    bmp = cps < 0x10000
    index = np.where(bmp, cps, 0)
    mapped = np.where(bmp, table[index], cps)
    if keep_digits:
        digits = _DIGITS[index]
        cps = np.where(bmp & (digits != 0), digits, mapped)
        return cps[(cps != _DROP) & ((cps != _SEPARATOR) if mode == "chars" else True)]
    cps = mapped[mapped != _DROP]
    zero = cps == _ZERO
    cps = cps[~(zero & np.concatenate(([False], zero[:-1])))]
    if mode == "chars":
        return cps[cps != _SEPARATOR]
    return cps


def normalize(text: str, mode: Mode, keep_digits: bool = False) -> str:
    """The normalised text that shingles are taken from (for inspection and tests)."""
    cps = normalized_codepoints(text, mode, keep_digits)
    out = cps.astype("<u4").tobytes().decode("utf-32-le")
    return out if mode == "chars" else " ".join(out.split())


def token_hashes(text: str, mode: Mode, keep_digits: bool = False) -> np.ndarray:
    """One 64-bit hash per token of the normalised text: per character, or per word."""
    cps = normalized_codepoints(text, mode, keep_digits).astype(np.uint64)
    if mode == "chars":
        return mix64(cps * _CHAR_WEIGHT)
    # words: hash = sum(cp[i] * W[position of i in its word]); computed for all words with one reduceat
    is_space = cps == _SEPARATOR
    keep = ~is_space
    if not keep.any():
        return np.zeros(0, dtype=np.uint64)
    starts_mask = keep & np.concatenate(([True], is_space[:-1]))
    idx = np.flatnonzero(keep)
    word_id = (np.cumsum(starts_mask) - 1)[idx]
    position = idx - np.flatnonzero(starts_mask)[word_id]
    weighted = cps[idx] * POSITION_WEIGHTS[position % _MAX_WORD_LEN]
    boundaries = np.flatnonzero(np.diff(word_id, prepend=-1))
    return mix64(np.add.reduceat(weighted, boundaries))


def text_ngrams(text: str, mode: Mode, n: int, *, short: bool = True, keep_digits: bool = False) -> np.ndarray:
    """Normalise `text` and return its n-gram hashes (uint64)."""
    return ngram_hashes(token_hashes(text, mode, keep_digits), n, short=short)


def char_ngrams(cps: np.ndarray, n: int) -> np.ndarray:
    """Character n-gram hashes of already normalised code points ("chars" mode): the same hashes
    `text_ngrams(text, "chars", n)` gives for the text they came from."""
    return ngram_hashes(mix64(cps.astype(np.uint64) * _CHAR_WEIGHT), n)


def contained(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether the shorter of each pair of rows (code points padded with 0, the same width) occurs in the
    longer: the longer is the shorter with characters added before or after it (a label such as
    "表 2.5.", a clause), none inside. Vectorised over the pairs: one numpy step per offset."""
    la, lb = (a != 0).sum(axis=1), (b != 0).sum(axis=1)
    swap = la > lb
    short, long = np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)
    ls, ll = np.minimum(la, lb), np.maximum(la, lb)
    width = a.shape[1] if a.ndim == 2 else 0
    position = np.arange(width)
    found = ls == 0
    for offset in range(width):
        span = width - offset
        same = (long[:, offset:] == short[:, :span]) | (position[:span] >= ls[:, None])
        found |= same.all(axis=1) & (offset + ls <= ll)
    return found


def bounded_edits(a: np.ndarray, b: np.ndarray, k: int, chunk: int = 1 << 14) -> np.ndarray:
    """Levenshtein distance of each pair of rows of `a` and `b` (code points, padded with 0 on the right,
    the same width), capped at k + 1: "more than k". A DP over the diagonal band |i - j| <= k, vectorised
    over the pairs: width * (2k + 1) numpy steps per chunk of pairs, whatever the number of pairs."""
    out = np.zeros(len(a), dtype=np.int16)
    if not len(a):
        return out
    cap = np.int16(k + 1)
    width = a.shape[1]
    for start in range(0, len(a), chunk):
        sa, sb = a[start : start + chunk], b[start : start + chunk]
        la, lb = (sa != 0).sum(axis=1), (sb != 0).sum(axis=1)
        result = np.minimum(lb, cap).astype(np.int16)  # la == 0
        prev = np.broadcast_to(np.minimum(np.arange(width + 1), cap).astype(np.int16), (len(sa), width + 1)).copy()
        for i in range(1, width + 1):
            cur = np.full_like(prev, cap)
            cur[:, 0] = min(i, int(cap))
            for j in range(max(1, i - k), min(width, i + k) + 1):
                value = prev[:, j - 1] + (sa[:, i - 1] != sb[:, j - 1])
                np.minimum(value, prev[:, j] + 1, out=value)
                np.minimum(value, cur[:, j - 1] + 1, out=value)
                cur[:, j] = np.minimum(value, cap)
            done = np.flatnonzero(la == i)
            result[done] = cur[done, lb[done]]
            prev = cur
        out[start : start + chunk] = result
    return out


class MinHasher:
    """`num_hashes` MinHash minima per document from n-gram hashes, for a batch of documents at once.

    Permutation k is x -> a_k * x (mod 2**64) with odd a_k: a bijection, applied to already well-mixed
    hashes. The loop is over the permutations (numpy over all shingles of the batch), never over
    shingles, and minima per document come from one `minimum.reduceat`.
    """

    def __init__(self, num_hashes: int, seed: int = 1):
        rng = np.random.default_rng(seed)
        self.multipliers = rng.integers(1, 2**64 - 1, size=num_hashes, dtype=np.uint64, endpoint=True) | _U64(1)

    def signatures(self, shingle_sets: list[np.ndarray]) -> np.ndarray:
        """(len(shingle_sets), num_hashes) uint64; every set must be non-empty."""
        if not shingle_sets:
            return np.zeros((0, len(self.multipliers)), dtype=np.uint64)
        offsets = np.cumsum([0] + [len(s) for s in shingle_sets[:-1]])
        flat = np.concatenate(shingle_sets)
        out = np.empty((len(shingle_sets), len(self.multipliers)), dtype=np.uint64)
        buf = np.empty_like(flat)
        for k, multiplier in enumerate(self.multipliers):
            np.multiply(flat, multiplier, out=buf)
            out[:, k] = np.minimum.reduceat(buf, offsets)
        return out


def cjk_char_ngrams(text: str, n: int, min_cjk: int) -> np.ndarray:
    """Hashes of the character n-grams of `text` that hold at least `min_cjk` Chinese characters, so
    the English part of a mixed text does not yield character n-grams."""
    cps = normalized_codepoints(text, "chars")
    if len(cps) < n:
        return np.zeros(0, dtype=np.uint64)
    han = np.concatenate(([0], np.cumsum(is_han(cps))))
    per_window = han[n:] - han[:-n]
    hashes = ngram_hashes(mix64(cps.astype(np.uint64) * _CHAR_WEIGHT), n, short=False)
    return hashes[per_window >= min_cjk]


SKETCH_EMPTY = np.uint32(0xFFFFFFFF)  # pads the sketch of a document with fewer than k distinct shingles


class BottomKSketcher:
    """Bottom-k sketches: per document, the k smallest distinct values of a 32-bit hash of its shingles.

    Verification reads these instead of the MinHash signature: a batch's sketches cost one sort of
    (document, hash) keys, where the signature costs one numpy pass over all shingles per hash, so a
    sketch can hold more values than the signature and estimate the Jaccard similarity more precisely
    (`sketch_similarity`), exactly for documents with fewer than k distinct shingles.
    """

    def __init__(self, k: int, seed: int = 1):
        self.k = k
        self.salt = mix64(np.array([seed], dtype=np.uint64) ^ _U64(0x9E3779B97F4A7C15))[0]

    def sketches(self, shingle_sets: list[np.ndarray]) -> np.ndarray:
        """(len(shingle_sets), k) uint32, each row ascending and padded with `SKETCH_EMPTY`."""
        out = np.full((len(shingle_sets), self.k), SKETCH_EMPTY, dtype=np.uint32)
        if not shingle_sets:
            return out
        lengths = np.array([len(s) for s in shingle_sets], dtype=np.int64)
        values = mix64(np.concatenate(shingle_sets) ^ self.salt) >> _U64(32)
        owner = np.repeat(np.arange(len(shingle_sets), dtype=np.int64), lengths)
        # only values below about 2k/n of the range can be among a document's k smallest: sort just those
        bound = np.minimum(2.0 * self.k / np.maximum(lengths, 1), 1.0) * 2.0**32
        low = values < bound[owner]
        rows, taken = self._smallest(owner[low], values[low], len(shingle_sets))
        short = np.flatnonzero((taken < self.k) & (bound < 2.0**32))  # many repeated shingles: take all
        if short.size:
            again = np.isin(owner, short)
            redo_rows, _ = self._smallest(owner[again], values[again], len(shingle_sets))
            rows[short] = redo_rows[short]
        return rows

    def _smallest(self, owner: np.ndarray, values: np.ndarray, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
        """Per document, its k smallest distinct values (padded) and how many it has."""
        keys = np.sort((owner.astype(np.uint64) << _U64(32)) | values)
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if keys.size else keys
        doc = (keys >> _U64(32)).astype(np.int64)
        rank = np.arange(len(keys)) - np.searchsorted(doc, np.arange(n_docs))[doc]
        picked = rank < self.k
        out = np.full((n_docs, self.k), SKETCH_EMPTY, dtype=np.uint32)
        out[doc[picked], rank[picked]] = (keys[picked] & _U64(0xFFFFFFFF)).astype(np.uint32)
        return out, np.bincount(doc[picked], minlength=n_docs)


def sketch_similarity(a: np.ndarray, b: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """Estimated Jaccard similarity of each pair of bottom-k sketches (rows of a and b).

    Below the smaller of the two sketches' largest values (no bound for a sketch that holds its whole
    set) both sketches hold every shingle of their documents, so the fraction of the union's values
    there that both hold estimates the Jaccard similarity from at least k values; it is exact when both
    documents have fewer than k distinct shingles."""
    out = np.zeros(len(a), dtype=np.float32)
    for start in range(0, len(a), chunk):
        sa, sb = a[start : start + chunk], b[start : start + chunk]
        bound = np.minimum(sa[:, -1], sb[:, -1])  # SKETCH_EMPTY where a sketch is not full: no bound
        merged = np.sort(np.concatenate([sa, sb], axis=1), axis=1)
        counted = (merged != SKETCH_EMPTY) & (merged <= bound[:, None])
        both = (merged[:, 1:] == merged[:, :-1]) & counted[:, 1:]  # each sketch's values are distinct
        shared = both.sum(axis=1)
        union = counted.sum(axis=1) - shared
        out[start : start + chunk] = np.where(union > 0, shared / np.maximum(union, 1), 0)
    return out
