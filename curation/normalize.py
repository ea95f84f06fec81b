"""Text normalisation: broken Unicode (ftfy), control characters, Traditional→Simplified (OpenCC).

ftfy's default configuration is wrong for Chinese: `fix_character_width` turns full-width
punctuation (，！？（）) into ASCII and `uncurl_quotes` rewrites “” — both change correct Chinese text.
We run ftfy with those two fixes off, and only on text that can contain what ftfy repairs (UTF-8
mojibake always contains a Latin-1 lead byte Â..ô; HTML entities contain `&...;`): clean Chinese text
skips it, which keeps this step fast (ftfy alone runs at ~1.3 MB/s on Chinese).
"""

from __future__ import annotations

import re

import ftfy
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curation.config import NormalizeSection
from curation.readers import conversation_text, pair_text

_FTFY_CONFIG = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, normalization="NFC")
_MAYBE_BROKEN = re.compile(r"[\u00c2-\u00f4\ufffd]|&(?:#\d{2,6}|#x[0-9a-fA-F]{2,5}|[a-zA-Z]{2,8});")
# C0 and C1 controls except \t \n \r; plus BOM and zero-width spaces that break n-gram statistics
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\u200b]")


class Normalizer(PipelineStep):
    """Repairs text in place (document text and, per kind, the pair sides or message contents)."""

    name = "🧽 Normalize"
    type = "✂️ - FORMAT"

    def __init__(self, config: NormalizeSection, chinese: bool):
        super().__init__()
        self.config = config
        self.chinese = chinese
        self._converter = None

    def _t2s(self, text: str) -> str:
        if self._converter is None:
            import opencc

            self._converter = opencc.OpenCC(self.config.opencc_config)
        return self._converter.convert(text)

    def fix(self, text: str, chinese: bool) -> str:
        if self.config.fix_unicode and _MAYBE_BROKEN.search(text):
            fixed = ftfy.fix_text(text, config=_FTFY_CONFIG)
            if fixed != text:
                self.stat_update("fixed_unicode")
                text = fixed
        if self.config.strip_control_chars:
            stripped = _CONTROL.sub("", text)
            if len(stripped) != len(text):
                self.stat_update("stripped_control_chars")
                text = stripped
        if chinese and self.config.traditional_to_simplified:
            converted = self._t2s(text)
            if converted != text:
                self.stat_update("converted_t2s")
                text = converted
        return text

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                self.normalize(doc)
            yield doc

    def normalize(self, doc: Document) -> None:
        meta = doc.metadata
        kind = meta.get("kind")
        if kind == "parallel":
            meta["zh"] = self.fix(meta["zh"], chinese=True)
            meta["en"] = self.fix(meta["en"], chinese=False)
            doc.text = pair_text(meta["zh"], meta["en"])
        elif kind == "instruct":
            for message in meta["messages"]:
                message["content"] = self.fix(message["content"], chinese=self.chinese)
            doc.text = conversation_text(meta["messages"])
        else:
            doc.text = self.fix(doc.text, chinese=self.chinese)
