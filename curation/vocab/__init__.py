"""Vocabulary extension (ChatFlow): add the frequent Chinese characters (and, optionally, words) the base
tokenizer splits into pieces.

    python -m curation.vocab RECIPE [--workdir DIR] [--force]

Counts Chinese characters in `workdir/curated/` (mono zh text, the zh side of parallel pairs, Chinese
instruction conversations), keeps those the base tokenizer does not encode as one token in running text,
adds the `tokenizer.extend.max_new_tokens` most frequent with at least `min_frequency` occurrences and,
with `tokenizer.extend.words.enabled`, then up to `words.max_new_words` multi-character words (jieba
segmentation), and writes `workdir/tokenizer/` (a Hugging Face tokenizer folder) and
`vocab_extension.json` (docs/formats.md). Old ids never change; new ids follow them. The command needs
`tokenizer.extend.enabled: true`: the recipe, not a flag, says which tokenizer the later stages use.

How a token is added depends on how the base tokenizer sees text:

- character-level BPE (SentencePiece/LLaMA-style, `byte_fallback`): the BPE model splits every word into
  characters before merging and falls back to bytes only for characters missing from its vocab, so a
  character is added to the model's vocab (`method: model_vocab`), no merges needed, and a word gets
  one new merge of the two tokens BPE already builds it from, ranked after every base merge; the
  tokenizer stays a plain BPE with the same normalizer, pre-tokenizer and decoder.
- anything else (byte-level BPE as in GPT-2/LLaMA-3, Unigram, WordPiece): the model never sees a whole
  CJK character (byte-level splits it into bytes first), so characters and words are added tokens,
  matched in the raw text before pre-tokenization, also inside words (`method: added_tokens`).

Both are checked after writing: the written folder is loaded again, every base token keeps its id,
every new token encodes to its new id in running text and a text of all new tokens decodes back unchanged.

Recipe section `tokenizer` (read also by tokenize, train and evaluation): the tokenizer in effect is
`workdir/tokenizer/` when the extension is enabled and that folder was built from the recipe's base
tokenizer and extend settings (recorded in `vocab_extension.json`), else `tokenizer.path`; any mismatch
is an error, never a silent mix.

One module per job: `count` (Chinese characters and words in the curated data), `measure` (characters per
token), `select` (which counted characters and words the base tokenizer splits, and the most frequent of
them), `merges` (the BPE merges that build words, `model_vocab`), `write` (writing and verifying the
extended tokenizer), `extend` (all of it for a recipe), `stage` (the curation stage) and `__main__` (the
command).
"""


class VocabError(RuntimeError):
    """The extension could not be built (no curated data, or the written tokenizer failed its checks)."""
