"""The mistakes `evaluation.run` reports as one line (exit 2). Stdlib only, so that the command can name
them before it imports torch."""

from __future__ import annotations


class ModelError(ValueError):
    """A model or tokenizer folder cannot be used (missing, or tokenizer and model disagree)."""


class ChatTemplateError(ValueError):
    """`prompt: chat` asked of a tokenizer without a chat template."""


class EvaluationError(ValueError):
    """The run as asked cannot give a correct table: nothing to evaluate, an output folder that is not an
    evaluation's, or `--append` onto models scored under other settings."""
