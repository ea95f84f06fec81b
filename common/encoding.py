"""How a curated document becomes token ids: the recipe's `tokenize` section, chat rendering with the
assistant-only loss mask, and batched document encoding.

Shared by the tokenize stage (which packs what this produces into shards) and evaluation (which scores
held-out documents exactly as they were trained), so both see the same tokens for the same document.
Per kind: mono text trains on every token; parallel pairs are rendered with `tokenize.parallel_templates`
(both directions by default); a conversation is rendered to one string with `tokenize.chat_template`,
else the tokenizer's chat template, else `tokenize.turn_templates`, and tokenized once, with loss mask 1
on the tokens inside assistant turns: the `{% generation %}` blocks when the template has them, else
each answer's character span found by rendering prefixes of the conversation (a template whose
prefixes do not render as prefixes of the whole is refused rather than guessed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

import numpy as np
from pydantic import Field

from common.recipe import Section
from common.tokens import ShardError

DEFAULT_PARALLEL_TEMPLATES = {"zh-en": "{zh}\n{en}", "en-zh": "{en}\n{zh}"}
# Bump when this module renders documents into other tokens for the same settings: old shards are then
# refused like shards of changed settings. 2: conversations tokenized as one string, no double EOS.
RENDERING_VERSION = 2
# `tokenize` keys that do not change the token stream (seq_len is checked on its own); every other key does
NOT_RENDERING = {"enabled", "seq_len", "batch_size", "sources"}
GENERATION_TAG = re.compile(r"\{%(-?)\s*(end)?generation\s*(-?)%\}")
SPAN_START, SPAN_END = "\ue000", "\ue001"  # private-use characters marking {% generation %} blocks


class TurnTemplatesSection(Section):
    """Fallback chat rendering: each turn is `prefix[role] + content + suffix`; only assistant content
    and its suffix are trained on."""

    system: str = "{content}\n\n"
    user: str = "Human: {content}\n\n"
    assistant_prefix: str = "Assistant: "
    assistant_suffix: str = "\n\n"


class TokenizeSection(Section):
    """Recipe section `tokenize`."""

    enabled: bool = True
    seq_len: int = Field(2048, ge=2)
    batch_size: int = Field(512, ge=1, description="documents per batched encode call")
    add_bos: bool = Field(True, description="start every document with the tokenizer's BOS (if it adds one)")
    parallel_templates: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_PARALLEL_TEMPLATES),
        description="one rendering per direction; {zh} and {en} are the two sides",
    )
    chat_template: str | None = Field(None, description="Jinja chat template overriding the tokenizer's")
    turn_templates: TurnTemplatesSection = Field(default_factory=TurnTemplatesSection)
    instruct_loss: Literal["answers", "all"] = Field(
        "answers", description="instruction data: loss on the assistant answers only, or on the whole rendered "
        "conversation (as packed instruction data in continued pre-training, e.g. ChatFlow, may have been)",
    )
    sources: list[str] | None = Field(None, description="sources to tokenize (default: all)")


def rendering_settings(cfg: TokenizeSection) -> dict:
    """Everything in the recipe that decides the token stream besides the tokenizer and seq_len."""
    settings = {"version": RENDERING_VERSION, **cfg.model_dump(mode="json", exclude=NOT_RENDERING)}
    if settings.get("instruct_loss") == "answers":  # what every shard did before the key existed: still valid
        del settings["instruct_loss"]
    return settings


class ChatRenderer:
    """Renders a conversation to one string plus the character spans of its assistant turns.

    The template is `tokenize.chat_template`, else the tokenizer's, else `tokenize.turn_templates`;
    `describe()` says which one and how the assistant spans are found.
    """

    def __init__(self, tokenizer, cfg: TokenizeSection):
        self.tokenizer = tokenizer
        self.turns = cfg.turn_templates
        if cfg.chat_template:
            self.template, self.origin = cfg.chat_template, "recipe"
        elif getattr(tokenizer, "chat_template", None):
            self.template, self.origin = tokenizer.get_chat_template(), "tokenizer"
        else:
            self.template, self.origin = None, "turn_templates"
        self.marked = None  # the template with its {% generation %} blocks made visible
        if self.template and GENERATION_TAG.search(self.template):
            self.marked = GENERATION_TAG.sub(_mark_generation, self.template)
        self.spans = "generation" if self.marked else "prefix" if self.template else "turn_templates"

    def describe(self) -> dict:
        return {"template": self.origin, "assistant_spans": self.spans}

    def render(self, messages: list[dict], doc_id: str) -> tuple[str, list[tuple[int, int]]]:
        for message in messages:
            if message.get("role") not in ("system", "user", "assistant"):
                raise ShardError(f"document {doc_id}: message role {message.get('role')!r} is not system, user or assistant")
        if self.template is None:
            return self._render_turns(messages)
        if self.marked:
            return self._render_marked(messages, doc_id)
        return self._render_prefixes(messages, doc_id)

    def _apply(self, messages: list[dict], template: str, doc_id: str, generation_prompt: bool = False) -> str:
        try:
            return self.tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False,
                                                      add_generation_prompt=generation_prompt)
        except Exception as err:  # jinja2 errors, raise_exception() of the template itself
            raise ShardError(f"document {doc_id}: the {self.origin} chat template failed: {err}") from None

    def _render_turns(self, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
        parts: list[str] = []
        spans = []
        size = 0
        for message in messages:
            role, content = message["role"], str(message.get("content", ""))
            if role == "assistant":
                parts += [self.turns.assistant_prefix, content + self.turns.assistant_suffix]
                start = size + len(parts[-2])
                size = start + len(parts[-1])
                spans.append((start, size))
            else:
                parts.append(getattr(self.turns, role).format(content=content))
                size += len(parts[-1])
        return "".join(parts), spans

    def _render_marked(self, messages: list[dict], doc_id: str) -> tuple[str, list[tuple[int, int]]]:
        if any(SPAN_START in str(m.get("content", "")) or SPAN_END in str(m.get("content", "")) for m in messages):
            raise ShardError(f"document {doc_id}: contains the private-use characters U+E000/U+E001 that mark "
                             "{% generation %} blocks")
        pieces = re.split(f"([{SPAN_START}{SPAN_END}])", self._apply(messages, self.marked, doc_id))
        text: list[str] = []
        spans = []
        size, start = 0, None
        for piece in pieces:
            if piece == SPAN_START:
                start = size
            elif piece == SPAN_END:
                spans.append((start, size))
            else:
                text.append(piece)
                size += len(piece)
        return "".join(text), spans

    def _render_prefixes(self, messages: list[dict], doc_id: str) -> tuple[str, list[tuple[int, int]]]:
        whole = self._apply(messages, self.template, doc_id)
        spans = []
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            prompt = self._apply(messages[:i], self.template, doc_id, generation_prompt=True) if i else ""
            answered = self._apply(messages[: i + 1], self.template, doc_id)
            if not (answered.startswith(prompt) and whole.startswith(answered)):
                raise ShardError(
                    f"document {doc_id}: the {self.origin} chat template does not render a conversation's "
                    f"beginning as the beginning of the whole (turn {i}), so the assistant tokens cannot be "
                    "found; set tokenize.chat_template to a template that wraps each answer in "
                    "{% generation %}...{% endgeneration %}"
                )
            spans.append((len(prompt), len(answered)))
        return whole, spans


def _mark_generation(match: re.Match) -> str:
    """`{% generation %}` -> an always-true block that outputs a marker, whitespace control kept."""
    left, end, right = match.groups()
    if end:
        return f"{{%{left} endif %}}{{{{ '{SPAN_END}' }}}}{{% endif {right}%}}"
    return f"{{%{left} if true %}}{{{{ '{SPAN_START}' }}}}{{% if true {right}%}}"


class DocumentEncoder:
    """Turns curated documents into (ids, loss_mask or None) per kind, encoding in batches.

    Every document's ids start with the tokenizer's BOS when `add_bos` (exactly one, also when a chat
    template emits it) and never end with EOS: the writer appends the one EOS (loss mask 1), so a
    template that ends the last answer with EOS does not get a second one.
    """

    def __init__(self, tokenizer, cfg: TokenizeSection):
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.chat = ChatRenderer(tokenizer, cfg)
        self.n_conversations = 0
        self.eos_id = tokenizer.eos_token_id
        self.eos_text = tokenizer.eos_token
        self.bos_ids = self._added_prefix() if cfg.add_bos else []

    def _added_prefix(self) -> list[int]:
        """The ids the tokenizer puts before a text when asked for special tokens (LLaMA: [BOS])."""
        plain = self._encode(["a"], False)[0]
        special = self._encode(["a"], True)[0]
        for i in range(len(special) - len(plain) + 1):
            if special[i : i + len(plain)] == plain:
                return special[:i]
        return []

    def _encode(self, texts: list[str], special: bool) -> list[list[int]]:
        if not texts:
            return []
        return self.tokenizer(texts, add_special_tokens=special, return_attention_mask=False)["input_ids"]

    def encode(self, docs: list[dict]) -> Iterator[tuple[list[int], np.ndarray | None]]:
        plain: list[str] = []
        chats: list[tuple[str, list[tuple[int, int]]]] = []
        for doc in docs:
            meta = doc["metadata"]
            kind = meta.get("kind", "mono")
            if kind == "instruct" and meta.get("messages"):
                chats.append(self.chat.render(meta["messages"], doc["id"]))
            elif kind == "parallel" and "zh" in meta and "en" in meta:
                plain.extend(t.format(zh=meta["zh"], en=meta["en"]) for t in self.cfg.parallel_templates.values())
            elif kind != "instruct":
                plain.append(doc["text"])
        encoded = iter(self._encode(plain, self.cfg.add_bos))
        conversations = self._conversations(chats)
        for doc in docs:
            meta = doc["metadata"]
            kind = meta.get("kind", "mono")
            if kind == "instruct" and meta.get("messages"):
                yield next(conversations)
            elif kind == "parallel" and "zh" in meta and "en" in meta:
                for _ in self.cfg.parallel_templates:
                    yield self._without_eos(next(encoded)), None
            elif kind != "instruct":
                yield self._without_eos(next(encoded)), None

    def _without_eos(self, ids: list[int]) -> list[int]:
        return ids[:-1] if ids and ids[-1] == self.eos_id else ids

    def _conversations(self, chats: list[tuple[str, list[tuple[int, int]]]]) -> Iterator[tuple[list[int], np.ndarray]]:
        """Tokenize rendered conversations once each; a token is trained when any of its characters lies in
        an assistant span, so every answer character is learned (as transformers' generation masks)."""
        if not chats:
            return
        texts = []
        for text, _ in chats:
            stripped = text.rstrip()
            texts.append(stripped if self.eos_text and stripped.endswith(self.eos_text) else text)
        try:
            out = self.tokenizer(texts, add_special_tokens=False, return_attention_mask=False, return_offsets_mapping=True)
        except NotImplementedError:
            raise ShardError("instruction data needs a fast (tokenizers) tokenizer: the assistant-only loss mask "
                             "comes from token offsets") from None
        bos = self.bos_ids
        for (_, spans), ids, offsets in zip(chats, out["input_ids"], out["offset_mapping"], strict=True):
            self.n_conversations += 1
            offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
            starts, ends = offsets[:, 0], offsets[:, 1]
            mask = np.zeros(len(ids), dtype=np.uint8)
            for span_start, span_end in spans:
                mask[(starts < span_end) & (ends > span_start) & (ends > starts)] = 1
            if self.cfg.instruct_loss == "all":
                mask[:] = 1
            ids = list(ids)
            if bos and ids[: len(bos)] != bos:
                ids, mask = bos + ids, np.concatenate([np.zeros(len(bos), np.uint8), mask])
            elif not self.cfg.add_bos and ids and ids[0] == self.tokenizer.bos_token_id:
                ids, mask = ids[1:], mask[1:]  # the template's own BOS, not wanted
            if ids and ids[-1] == self.eos_id:
                ids, mask = ids[:-1], mask[:-1]
            yield ids, mask
