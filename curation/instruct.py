"""Filters for instruction data (already normalised to role/content messages by the reader)."""

from __future__ import annotations

import hashlib
import re

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from curation.config import InstructSection

# An answer that ends like this is complete: sentence punctuation, closing brackets/quotes, code
# fences, list items, numbers, emoji... Anything else (a letter or a Han character mid-sentence, a
# comma) after a long answer is taken as truncated.
_COMPLETE_END = re.compile(r"""[。！？!?.…;；:：)\]}）】」』"'”’`*~>|0-9\u2600-\u27bf\U0001f300-\U0001faff]\s*$""")
_SHORT_ANSWER_CHARS = 40  # short answers ("Paris", "是的") legitimately lack final punctuation
_SPACES = re.compile(r"\s+")


def looks_truncated(answer: str) -> bool:
    answer = answer.rstrip()
    if len(answer) < _SHORT_ANSWER_CHARS or answer.count("```") % 2 == 1:
        return answer.count("```") % 2 == 1
    return not _COMPLETE_END.search(answer)


class InstructionFilter(BaseFilter):
    """Schema checks, empty or truncated answers, overlong conversations, duplicate prompts."""

    name = "💬 Instructions"
    excluded_name = "instruct"

    def __init__(self, config: InstructSection, exclusion_writer: DiskWriter | None = None):
        super().__init__(exclusion_writer)
        self.config = config
        self._prompts: set[bytes] = set()

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        messages = doc.metadata["messages"]
        users = [m for m in messages if m["role"] == "user"]
        answers = [m for m in messages if m["role"] == "assistant"]
        if not users or not answers:
            return False, "no_user_or_assistant_turn"
        if any(not m["content"].strip() for m in users):
            return False, "empty_prompt"
        if any(not m["content"].strip() for m in answers):
            return False, "empty_answer"
        if messages[-1]["role"] != "assistant":
            return False, "ends_without_answer"
        if sum(len(m["content"]) for m in messages) > self.config.max_chars:
            return False, "overlong"
        if self.config.drop_truncated and looks_truncated(answers[-1]["content"]):
            return False, "truncated_answer"
        if self.config.drop_duplicate_prompts:
            prompt = _SPACES.sub(" ", users[0]["content"].strip().lower())
            key = hashlib.blake2b(prompt.encode(), digest_size=16).digest()
            if key in self._prompts:
                return False, "duplicate_prompt"
            self._prompts.add(key)
        return True
