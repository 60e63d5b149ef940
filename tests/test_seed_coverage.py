"""word_templates/seed-coverage.md: each quoted seed text is in the seed, each 原文 row in the template."""

import re
import unicodedata

from opsdoc.office.docx_text import read_document
from tests.support import REPO

SEED = REPO / "word_templates" / "seed.txt"  # the company template's text extract, as given
TABLE = REPO / "word_templates" / "seed-coverage.md"
TEMPLATE = REPO / "word_templates" / "运维工作管理规范.docx"
# The extract's OCR errors, corrected as DESIGN.md says.
OCR = {"审核Fl期": "审核日期", "批准H期": "批准日期", "09001": "ISO 9001", "为重点义": "为重点"}


def normal(text: str) -> str:
    """Full-width and ASCII punctuation alike, no spaces or line breaks: the extract has both."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text))


def rows() -> list[tuple[str, list[str], str]]:
    found = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            found.append((cells[0], re.findall(r"「([^」]+)」", cells[1]), cells[3]))
    return found


def test_the_table_covers_the_seed_in_order_with_known_treatments():
    numbers = [int(number) for number, _, _ in rows()]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 30
    assert {treatment for _, _, treatment in rows()} == {"原文", "标题", "数据", "删除"}


def test_every_quoted_text_is_in_the_seed():
    seed = re.sub(r"(?m)^\d+、", "", SEED.read_text(encoding="utf-8"))  # page markers cut words in two
    for wrong, right in OCR.items():
        seed = seed.replace(wrong, right)
    seed = normal(seed)
    missing = [(n, q) for n, quotes, _ in rows() for q in quotes if normal(q) not in seed]
    assert missing == []


def test_every_verbatim_row_is_in_the_template():
    template = normal("".join(p.text for p in read_document(TEMPLATE).all_paragraphs()))
    missing = [(n, q) for n, quotes, treatment in rows() if treatment == "原文" for q in quotes]
    assert [(n, q) for n, q in missing if normal(q) not in template] == []
