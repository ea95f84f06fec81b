"""For `model_vocab` (character-level BPE): the one new merge that builds each added word."""

from __future__ import annotations

import json


def _bpe(word: str, vocab: dict[str, int], ranks: dict[tuple[str, str], int]) -> list[str] | None:
    """The symbols a character-level BPE turns `word` into (None when a character is not in `vocab`,
    so byte fallback would split it and no merge could join it)."""
    if any(char not in vocab for char in word):
        return None
    symbols = list(word)
    while len(symbols) > 1:
        best = min(((ranks[pair], i) for i, pair in enumerate(zip(symbols, symbols[1:], strict=False)) if pair in ranks),
                   default=None)
        if best is None:
            break
        i = best[1]
        symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
    return symbols


def plan_word_merges(base, chars: list[str], words: list[tuple[str, int]], max_new_words: int
                     ) -> tuple[list[tuple[str, int]], list[tuple[str, str]], int]:
    """For `model_vocab`: the words (most frequent first) that one new merge can build, the merges and
    how many candidates no merge could build. A merge (left, right) ranked after every existing merge
    applies only once no base merge can, so it never changes how text without both halves is segmented,
    and it joins exactly the two tokens BPE already builds the word from. A longer word that needs a
    shorter one first (大学生 = 大 + 学生) is retried once that one is in, so it may follow it."""
    spec = json.loads(base.backend_tokenizer.to_str())["model"]
    vocab = dict(spec["vocab"])
    vocab.update({char: -1 for char in chars})
    ranks = {tuple(m.split(" ", 1) if isinstance(m, str) else m): rank for rank, m in enumerate(spec.get("merges", []))}
    chosen, merges, rejected = [], [], set()
    pending = [(word, count) for word, count in words if word not in vocab]
    while pending and len(chosen) < max_new_words:
        retry = []
        for word, count in pending:
            if len(chosen) == max_new_words:
                break
            symbols = _bpe(word, vocab, ranks)
            if symbols is None:
                rejected.add(word)  # a character still needs byte fallback: no merge can join its bytes
            elif len(symbols) != 2:
                rejected.add(word)  # would need an intermediate token (3+ pieces)
                retry.append((word, count))
            else:
                rejected.discard(word)
                ranks[(symbols[0], symbols[1])] = len(ranks)
                vocab[word] = -1
                chosen.append((word, count))
                merges.append((symbols[0], symbols[1]))
        if len(retry) == len(pending):
            break
        pending = retry
    return chosen, merges, len(rejected)
