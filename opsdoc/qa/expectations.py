"""What a Word template promises every document made from it: chapters, sections, fixed text, page, styles.

Read from the template itself, so a company's own template is verified against its own text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from opsdoc.contract.vocabulary import CHAPTER_STYLE, SECTION_STYLE
from opsdoc.errors import TemplateError, UnusableDocument
from opsdoc.office.docx_text import PageSetup, Paragraph, read_document

TEMPLATE_TAG = re.compile(r"\{\{|\{%|\{#")
# docxtpl block tags ({%p for …%}, {%tr if …%}, {% endfor %}): what lies between them may repeat or vanish.
BLOCK_TAG = re.compile(r"\{%-?\s*(?:p|tr|tc|r)?\s*(for|if|endfor|endif)\b")
VERSION_LABEL = re.compile(r"版本号[:：]\s*([^\s]+)")


@dataclass(frozen=True)
class Expectations:
    chapters: tuple[str, ...]
    sections: tuple[tuple[int, str], ...]  # (chapter number, title) of each Heading 2, in order
    fixed_body: tuple[str, ...]  # body paragraphs without tags, outside loops and conditions
    fixed_margins: tuple[tuple[str, str], ...]  # the same for headers and footers: (part, text)
    page: PageSetup | None  # None: the template leaves the page to Word's defaults
    styles: frozenset[str]
    version_in_margins: bool  # the header or footer shows 版本号
    has_toc: bool


def read_expectations(template: Path) -> Expectations:
    """What every document made from `template` must contain."""
    try:
        source = read_document(template)
    except UnusableDocument as exc:
        raise TemplateError(template, f"Word 模板无法读取：{exc.message}") from exc
    chapters, sections = [], []
    for p in source.body_paragraphs():
        if p.style == CHAPTER_STYLE:
            chapters.append(p.text.strip())
        elif p.style == SECTION_STYLE:
            sections.append((len(chapters), p.text.strip()))
    margins = [*source.headers, *source.footers]
    return Expectations(
        chapters=tuple(chapters),
        sections=tuple(sections),
        fixed_body=tuple(_fixed(source.all_body_paragraphs())),
        fixed_margins=tuple(
            (p, t) for p, part in (("header", source.headers), ("footer", source.footers)) for t in _fixed(part)
        ),
        page=source.sections[0] if source.sections else None,
        styles=frozenset(source.defined_styles),
        version_in_margins=any(VERSION_LABEL.search(p.text) for p in margins),
        has_toc=source.has_toc,
    )


def _fixed(paragraphs: Iterable[Paragraph]) -> Iterator[str]:
    """Paragraphs every rendering keeps word for word: no tag, and not inside a loop or condition."""
    depth = 0
    for p in paragraphs:
        blocks = BLOCK_TAG.findall(p.text)
        fixed = depth == 0 and not TEMPLATE_TAG.search(p.text)
        depth += sum(1 if tag in ("for", "if") else -1 for tag in blocks)
        if fixed and p.text.strip() and not p.is_toc_entry and p.style not in (CHAPTER_STYLE, SECTION_STYLE):
            yield p.text
