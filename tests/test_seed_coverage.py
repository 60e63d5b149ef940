"""word_templates/seed-coverage.md: each quoted seed text is in the seed, each 原文 row in the template."""

import functools
import re
import unicodedata

from opsdoc.contract.findings import CATALOGUE
from opsdoc.office.docx_text import read_document
from tests.support import REPO

SEED = REPO / "word_templates" / "seed.txt"  # the company template's text extract, as given
TABLE = REPO / "word_templates" / "seed-coverage.md"
TEMPLATE = REPO / "word_templates" / "运维工作管理规范.docx"
# The extract's OCR errors, corrected as DESIGN.md says.
OCR = {"审核Fl期": "审核日期", "批准H期": "批准日期", "09001": "ISO 9001", "为重点义": "为重点"}
# One voice (the table's preamble): where the seed drifts, the template uses the seed's other term.
ONE_VOICE = {"服务经理应加强": "服务项目经理应加强", "制定": "制订"}


def normal(text: str) -> str:
    """Full-width and ASCII punctuation alike, no spaces or line breaks: the extract has both."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text))


def table() -> list[list[str]]:
    cells = ([c.strip() for c in line.strip("|").split("|")] for line in TABLE.read_text(encoding="utf-8").splitlines())
    return [row for row in cells if len(row) == 4 and row[0].isdigit()]


def rows() -> list[tuple[str, list[str], str]]:
    return [(number, re.findall(r"「([^」]+)」", seed), treatment) for number, seed, _, treatment in table()]


@functools.cache  # the three tests read the one template once
def template_text() -> str:
    return "\n".join(p.text for p in read_document(TEMPLATE).all_paragraphs())


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


def in_one_voice(text: str) -> str:
    for seed_term, term in ONE_VOICE.items():
        text = text.replace(seed_term, term)
    return text


def test_every_verbatim_row_is_in_the_template():
    template = normal(template_text().replace("\n", ""))
    verbatim = [(n, q) for n, quotes, treatment in rows() if treatment == "原文" for q in quotes]
    assert len(verbatim) >= 40
    assert [(n, q) for n, q in verbatim if normal(in_one_voice(q)) not in template] == []


def test_every_data_row_lands_on_template_values_and_known_rules():
    template = template_text()
    named = [
        (n, name)
        for n, _, document, treatment in table()
        if treatment == "数据"
        for name in re.findall(r"`([^`]+)`", document)
    ]
    assert len(named) >= 80
    rules = [(n, code) for n, code in named if "-" in code]
    values = [(n, path) for n, path in named if "-" not in path]
    assert [(n, code) for n, code in rules if code not in CATALOGUE] == []
    assert [(n, path) for n, path in values if not re.search(rf"(?<![\w.]){re.escape(path)}(?![\w])", template)] == []


def test_the_template_speaks_with_one_voice():
    """服务项目经理, never 服务经理; 制订, never 制定 (the preamble of the coverage table)."""
    template = template_text()
    assert re.findall(r"(?<!项目)服务经理|制定", template) == []
