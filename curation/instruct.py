"""Filters for instruction data (already normalised to role/content messages by the reader).

A truncated answer is found by what a cut leaves behind (`truncation`), never by a missing final
period alone: "Paris", "Use apt-get install foo" and "是的" are complete answers.
"""

from __future__ import annotations

import hashlib
import re

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from common.text import HAN
from curation.config import InstructSection

_SPACES = re.compile(r"\s+")
_PAIRS = ("()", "[]", "{}", "（）", "【】", "《》", "「」", "『』", "“”")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_FENCE = re.compile(r"^\s*(```|~~~)", re.M)
# a sentence ends: final punctuation, maybe then closing quotes or brackets
_SENTENCE_END = re.compile(r"[。！？…]|[.!?](?=[\s\"'”’)）\]」』]|$)")
_ENDS_SENTENCE = re.compile(r"""(?:[。！？!?…:：;；.]|\.\.\.)[\s"'”’)）\]」』*_`~>]*$""")
# a clause that goes on: a comma, a hyphen or a word that never ends an English sentence
_DANGLING = re.compile(
    r"(?:[,，、\-–—(（\[{“]|\b(?:the|a|an|and|or|of|to|with|from|by|than|because|but|your|its|their|our|my|whose|is|are|was|were)\b)\s*$",
    re.I,
)
# Chinese words that never end a sentence: conjunctions and prepositions waiting for their object
_ZH_DANGLING = re.compile(
    r"(?:和|与|及|或|以及|或者|如果|因为|所以|但是|而且|并且|把|被|对于|关于|例如|比如|包括|通过|(?<![现存正所实自内])在)\s*$"
)
# a one-character answer that is one: a digit, yes/no in Chinese (is, right, no, have, can, will, fine)
_ONE_CHARACTER_ANSWER = re.compile(r"[0-9０-９是对不否有没能会行好错]")
_LAST_LATIN_WORD = re.compile(r"([A-Za-z]+)\s*$")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# the end of a prose sentence: a letter or a Han character (a path, command, URL or number may end
# an answer without punctuation: "... kept in /etc/papersize")
_PROSE_TAIL = re.compile(f"(?:^|\\s)(?:[A-Za-z]+|[^\\s]*[{HAN}])\\s*$")


# a command line or code, which ends without punctuation: an option anywhere, or a last word with a
# path, variable or code character ("dpkg --status foo", "kept in /etc/papersize")
_CODE_LIKE = re.compile(r"(?:^|\s)--?\w|[/_=$<>|`{}\\]\S*\s*$")
# a letter's sign-off: a short last line (a name, a date) after a line that ends a sentence
_SIGN_OFF = re.compile(r"[。！？!?.][\"'”’)）]*\s*\n[^\n]{1,8}$")
# a lone lowercase letter other than "a" ends no English sentence ("Imagine you are i")
_LONE_LETTER = re.compile(r"(?:^|\s)[b-z]\s*$")


def stub(answer: str, prompt: str, min_chars: int) -> bool:
    """An answer shorter than `min_chars` (not counting spaces) is the start of one ("Y", "当"), unless
    a one-character answer is a digit, a Chinese yes or no, or a letter the prompt offers as a choice
    ("B" to "A) 3 B) 4")."""
    text = "".join(answer.split())
    if len(text) >= min_chars:
        return False
    if len(text) == 1 and (
        _ONE_CHARACTER_ANSWER.fullmatch(text)
        or re.search(rf"(?:^|[\s(（]){re.escape(text)}[).:：）]", prompt)
    ):
        return False
    return True


def repeated_paragraph(answer: str, min_chars: int, max_repeats: int) -> bool:
    """A paragraph of at least `min_chars` characters occurs more than `max_repeats` times: a loop."""
    counts: dict[str, int] = {}
    for paragraph in answer.split("\n\n"):
        paragraph = paragraph.strip()
        if len(paragraph) >= min_chars:
            counts[paragraph] = counts.get(paragraph, 0) + 1
    return any(n > max_repeats for n in counts.values())


def _unclosed(text: str) -> str | None:
    text = _INLINE_CODE.sub(" ", text)
    for opening, closing in _PAIRS:
        if text.count(opening) > text.count(closing):
            return opening + closing
    return None


def truncation(answer: str, context: str, config: InstructSection) -> str | None:
    """Why `answer` (the last one) looks cut off, or None; `context` is the conversation's other turns.
    Signs, in order: an unclosed code fence;
    a length at a usual limit; an unclosed bracket or quote; a clause that goes on (comma, "the");
    the last word is the start of a longer word of the conversation, and not a word of it itself (cut mid-word: "unsta" /
    "unstable"); the answer has finished sentences, then its last line, prose rather than a
    command or path, stops on a word. A single sentence without a final period is complete."""
    if len(_FENCE.findall(answer)) % 2 == 1:
        return "unclosed code fence"
    text = answer.rstrip()
    if _ENDS_SENTENCE.search(text):
        return None
    if len(answer) in config.length_limits or len(answer.encode()) in config.length_limits:
        return f"stops at {len(answer)} characters"
    if config.check_brackets and (pair := _unclosed(text)):
        return f"unclosed {pair}"
    if _DANGLING.search(text) or _ZH_DANGLING.search(text) or _LONE_LETTER.search(text):
        return "stops mid-clause"
    # a lone letter ("B") is an answer, unless it is all there is and starts a word of the prompt
    if (last := _LAST_LATIN_WORD.search(text)) and (len(last.group(1)) >= 2 or last.group(1) == text):
        fragment = last.group(1).lower()
        words = [w.lower() for w in _LATIN_WORD.findall(f"{context}\n{text[: last.start()]}")]
        whole = fragment in words
        extended = any(
            len(w) >= len(fragment) + config.min_cut_letters and w.startswith(fragment) for w in words
        )
        if extended and not whole:
            return "cut mid-word"
    line = text.rsplit("\n", 1)[-1]
    if (
        config.min_sentences_before_cut
        and len(_SENTENCE_END.findall(text)) >= config.min_sentences_before_cut
        and _PROSE_TAIL.search(line)
        and not _CODE_LIKE.search(line)
        and not _SIGN_OFF.search(text)
    ):
        return "stops mid-sentence"
    return None


def looks_truncated(answer: str, config: InstructSection | None = None, context: str = "") -> bool:
    return truncation(answer, context, config or InstructSection()) is not None


class InstructionFilter(BaseFilter):
    """Schema checks, empty, looping or truncated answers, overlong conversations, duplicate prompts."""

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
        if any(not any(c.isalnum() for c in m["content"]) for m in answers):
            return False, "empty_answer"  # nothing but spaces and punctuation
        if stub(answers[-1]["content"], users[-1]["content"], self.config.min_answer_chars):
            return False, "empty_answer"
        if self.config.max_paragraph_repeats and any(
            repeated_paragraph(m["content"], self.config.repeat_min_chars, self.config.max_paragraph_repeats)
            for m in answers
        ):
            return False, "repeated_answer"
        if messages[-1]["role"] != "assistant":
            return False, "ends_without_answer"
        if sum(len(m["content"]) for m in messages) > self.config.max_chars:
            return False, "overlong"
        if self.config.drop_truncated:
            context = "\n".join(m["content"] for m in messages[:-1])
            if why := truncation(messages[-1]["content"], context, self.config):
                doc.metadata["truncation"] = why
                return False, "truncated_answer"
        if self.config.drop_duplicate_prompts:
            prompt = _SPACES.sub(" ", users[0]["content"].strip().lower())
            key = hashlib.blake2b(prompt.encode(), digest_size=16).digest()
            if key in self._prompts:
                return False, "duplicate_prompt"
            self._prompts.add(key)
        return True
