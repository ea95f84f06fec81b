"""HTML pages of the Debian documentation packages -> blocks -> section-sized documents.

Stdlib `html.parser` only. A page becomes a list of `Block`s (heading, paragraph, list item, <pre>
block with its line breaks, table row, table-of-contents entry); the DocBook navigation header and
footer are dropped. `sections` groups blocks into documents that start at a heading, merging short
sections into the next one and cutting long ones at block boundaries, so that documents are
realistic sizes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

MIN_CHARS = 300
MAX_CHARS = 6000

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# elements whose text is one block; the innermost open one names the block's kind
BLOCK_TAGS = {
    "p": "p",
    "li": "li",
    "dt": "dt",
    "dd": "p",
    "pre": "pre",
    "tr": "row",
    "blockquote": "p",
    "caption": "p",
    "title": None,
}
# div classes that are paragraphs (debian-handbook writes <div class="para">)
PARA_DIVS = {"para", "formalpara", "simpara"}
DROP_DIVS = {"navheader", "navfooter", "docnav", "breadcrumbs"}
DROP_IDS = {"banner", "title"}  # debian-handbook's "Download the ebook" banner and logo links
TOC_DIVS = {"toc", "list-of-tables", "list-of-figures", "list-of-examples", "index"}
SKIP_TAGS = {"script", "style", "head"}
VOID_TAGS = {"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "wbr"}
GUI_CLASSES = {"guimenu", "guimenuitem", "guisubmenu", "guilabel", "guibutton", "guiicon"}


@dataclass
class Block:
    """One unit of page text: `kind` is heading|p|li|dt|pre|row|toc."""

    kind: str
    text: str
    level: int = 0
    anchor: str = ""
    gui: list[str] = field(default_factory=list)


@dataclass
class Section:
    """A document cut from a page: `anchor` is its first heading's anchor (or "top"/"toc")."""

    anchor: str
    blocks: list[Block]

    @property
    def text(self) -> str:
        return blocks_text(self.blocks)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.stack: list[tuple[str, str]] = []  # (tag, role) role: drop|toc|para|heading|block|gui|""
        self.buffer: list[str] = []
        self.gui_buffer: list[str] | None = None
        self.gui: list[str] = []
        self.anchor = ""
        self.last_id = ""
        self.fallback = ""
        self.cell = 0

    # --- state helpers
    def _roles(self) -> list[str]:
        return [role for _, role in self.stack]

    def _dropped(self) -> bool:
        return any(role == "drop" for _, role in self.stack)

    def _in_pre(self) -> bool:
        return any(tag == "pre" for tag, _ in self.stack)

    def _kind(self) -> tuple[str, int]:
        kind = ""
        for tag, role in reversed(self.stack):
            if role == "heading":
                return "heading", HEADINGS[tag]
            if role in ("block", "para"):
                inner = BLOCK_TAGS.get(tag) or "p"
                if not kind:
                    kind = inner
                elif kind == "p" and inner == "li":  # <li><p>...</p></li> is a list item
                    kind = "li"
                    break
                elif kind != "p":
                    break
        kind = kind or "p"
        if any(role == "toc" for _, role in self.stack):
            return "toc", 0
        return kind, 0

    def flush(self) -> None:
        raw = "".join(self.buffer)
        self.buffer = []
        kind, level = self._kind()
        if self._in_pre():
            text = raw.strip("\n").rstrip()
        else:
            text = re.sub(r"\s+", " ", raw).strip()
            if kind == "row":
                text = text.strip(" |")
        if text:
            anchor = (self.anchor or self.fallback) if kind == "heading" else ""
            self.blocks.append(Block(kind, text, level, anchor, list(self.gui)))
        self.gui = []
        self.anchor = ""

    # --- parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = set((attributes.get("class") or "").split())
        element_id = attributes.get("id") or attributes.get("name") or ""
        if tag in VOID_TAGS:
            if tag == "br" and not self._dropped():
                self.buffer.append("\n" if self._in_pre() else " ")
            return
        role = ""
        if tag in SKIP_TAGS or classes & DROP_DIVS or element_id in DROP_IDS:
            role = "drop"
        elif classes & TOC_DIVS and tag in ("div", "dl", "section", "nav"):
            role = "toc"
        elif tag in HEADINGS:
            role = "heading"
        elif tag in BLOCK_TAGS or (tag == "div" and classes & PARA_DIVS):
            role = "para" if tag == "div" else "block"
        elif classes & GUI_CLASSES and tag in ("span", "b", "em", "strong", "code"):
            role = "gui"
        if role in ("heading", "block", "para", "toc") and not self._dropped():
            self.flush()
            self.cell = 0
        if element_id and not self._dropped():
            in_heading = "heading" in self._roles() or role == "heading"
            if in_heading and not self.anchor:
                self.anchor = element_id
            elif tag in ("div", "section") or (tag == "a" and not element_id.startswith(("id-", "idm"))):
                self.last_id = element_id
        if role == "heading":
            self.fallback = self.last_id
        if tag in ("td", "th") and not self._dropped():
            if self.cell:
                self.buffer.append(" | ")
            self.cell += 1
        if role == "gui" and self.gui_buffer is None:
            self.gui_buffer = []
        self.stack.append((tag, role))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS:
            return
        # tolerate unclosed children: pop to the matching tag
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                break
        else:
            return
        closing = self.stack[depth:]
        if not self._dropped() and any(role in ("heading", "block", "para", "toc") for _, role in closing):
            self.flush()
        for _, role in closing:
            if role == "gui" and self.gui_buffer is not None:
                label = re.sub(r"\s+", " ", "".join(self.gui_buffer)).strip()
                if label:
                    self.gui.append(label)
                self.gui_buffer = None
        del self.stack[depth:]

    def handle_data(self, data: str) -> None:
        if self._dropped():
            return
        self.buffer.append(data)
        if self.gui_buffer is not None:
            self.gui_buffer.append(data)

    def close(self) -> None:
        super().close()
        self.flush()


def page_blocks(html: str) -> list[Block]:
    """All text blocks of one HTML page, in order, without the navigation header and footer."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return parser.blocks


def blocks_text(blocks: list[Block]) -> str:
    """Plain text: blank lines between blocks, one line per list item / table row."""
    parts: list[str] = []
    previous = ""
    for block in blocks:
        line = block.text
        if block.kind in ("li", "toc"):
            line = "- " + line
        if parts and block.kind in ("li", "row", "toc") and previous == block.kind:
            parts.append("\n" + line)
        else:
            parts.append(("\n\n" if parts else "") + line)
        previous = block.kind
    return "".join(parts)


def sections(blocks: list[Block], min_chars: int = MIN_CHARS, max_chars: int = MAX_CHARS) -> list[Section]:
    """Documents of a page: table-of-contents blocks become one `toc` section; the rest start at
    each heading; a section under `min_chars` absorbs the next one; one over `max_chars` is cut at
    block boundaries into `anchor~2`, `anchor~3`..."""
    toc = [block for block in blocks if block.kind == "toc"]
    raw: list[Section] = []
    for block in blocks:
        if block.kind == "toc":
            continue
        if block.kind == "heading" or not raw:
            raw.append(Section(block.anchor or ("top" if not raw else f"s{len(raw)}"), []))
        raw[-1].blocks.append(block)
    merged: list[Section] = []
    for section in raw:
        if merged and len(merged[-1].text) < min_chars:
            merged[-1].blocks.extend(section.blocks)
        else:
            merged.append(section)
    if len(merged) > 1 and len(merged[-1].text) < min_chars:
        merged[-2].blocks.extend(merged.pop().blocks)
    out: list[Section] = []
    for section in merged:
        part: list[Block] = []
        number = 1
        for block in section.blocks:
            if part and len(blocks_text(part + [block])) > max_chars:
                out.append(Section(section.anchor if number == 1 else f"{section.anchor}~{number}", part))
                part, number = [], number + 1
            part.append(block)
        if part:
            out.append(Section(section.anchor if number == 1 else f"{section.anchor}~{number}", part))
    if toc:
        out.insert(0, Section("toc", toc))
    return out
