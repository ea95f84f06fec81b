"""Recipe section `tokenizer`: the base tokenizer, and the settings of vocabulary extension (ChatFlow).

Read by `curation.run` (tokenize), `train` and `evaluation`. The tokenizer in effect is
`workdir/tokenizer/` when vocabulary extension wrote one, else `tokenizer.path`.
"""

from __future__ import annotations

from pydantic import Field

from common.recipe import InputPath, Section


class ExtendSection(Section):
    """`tokenizer.extend`: add frequent Chinese characters the base tokenizer splits into pieces."""

    enabled: bool = False
    max_new_tokens: int = Field(8076, ge=1, description="add at most this many tokens (ChatFlow: 8,076)")
    min_frequency: int = Field(5, ge=1, description="a character must occur this often in curated Chinese data")


class TokenizerSection(Section):
    """Recipe section `tokenizer`."""

    path: InputPath = Field(description="Hugging Face tokenizer folder (tokenizer.json and/or tokenizer.model)")
    trust_remote_code: bool = False
    extend: ExtendSection = Field(default_factory=ExtendSection)
