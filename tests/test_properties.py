"""Property tests: any text, number, date or unicode in the sample's cells never crashes check or build,
and every successful build opens, contains what was typed and passes verify --workbook."""

from __future__ import annotations

import html
import io
import re
import zipfile
from datetime import date
from pathlib import Path

import docx
import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsdoc.api import BuildOptions, build, check
from opsdoc.errors import OpsdocError
from opsdoc.office.output import ZIP_EPOCH, deflated, deterministic_package, with_members
from opsdoc.qa.verify import verify_document
from opsdoc.workbook.reader import ILLEGAL_CHARACTER
from tests.support import SAMPLE

TEXT_CELLS = ["项目背景!B1", "组织职责!E3", "服务目录!D4", "风险登记!C2", "合同指标!B7", "文档信息!B11", "工作规范!C2"]
DATE_CELLS = ["服务周期!B3", "工作计划!E4", "文档信息!B10"]
NUMBER_CELLS = ["预算!C2", "服务级别协议!E5", "绩效考核!B3"]

TRICKY = st.sampled_from(
    [
        "&",
        "<",
        ">",
        "]]>",
        "<w:t>",
        "&amp;",
        "{{ 7*7 }}",
        "{% for x in y %}",
        "{#",
        "}}",
        "%}",
        "\\n",
        "😀🏥",
        "עברית",
        "العربية",
        "é̃",
        "\u200b",
        "\u3000",
        "𠀀",
        "Ｆｕｌｌ",
        "\t",
        "\n",
        "_x0041_",
    ]
)
# How Excel stores characters XML cannot hold; openpyxl writes "_x0041_" raw, which means "A".
EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# openpyxl refuses to write control characters; the hostile corpus covers them (as Excel stores them).
WRITABLE = st.text(max_size=12).map(lambda text: ILLEGAL_CHARACTER.sub("", text))
CELL_TEXT = st.lists(st.one_of(WRITABLE, TRICKY), max_size=6).map("".join)


def _save(tmp_path: Path, changes: dict) -> Path:
    book = openpyxl.load_workbook(SAMPLE)
    for ref, value in changes.items():
        sheet, cell = ref.split("!")
        book[sheet][cell] = value
    path = tmp_path / "w.xlsx"
    book.save(path)
    return path


def _document_text(path: Path) -> str:
    with zipfile.ZipFile(path) as package:
        xml = package.read("word/document.xml").decode().replace("<w:tab/>", "<w:t>\t</w:t>")  # docxtpl's tabs
    return html.unescape("".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml)))


def _build_and_verify(folder: Path, path: Path, typed: dict) -> None:
    result = build(path, folder / "out")
    assert result.output is not None, result.report.to_text()
    docx.Document(result.output)  # opens
    verified = verify_document(result.output, workbook=path)
    assert verified.findings == [], verified.to_text()
    text = _document_text(result.output)
    for ref, value in typed.items():
        shown = EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)  # _x0041_ is how Excel stores "A"
        for line in shown.replace("\r\n", "\n").replace("\r", "\n").split("\n"):  # as the loader reads it
            if line.strip():
                assert line.strip() in text, (ref, line)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.fixed_dictionaries({cell: CELL_TEXT for cell in TEXT_CELLS}),
    days=st.fixed_dictionaries(
        {
            cell: st.one_of(st.dates(date(1900, 3, 1), date(9999, 12, 31)), st.integers(), WRITABLE)
            for cell in DATE_CELLS
        }
    ),
    numbers=st.fixed_dictionaries(
        {
            cell: st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**12), 10**12), WRITABLE)
            for cell in NUMBER_CELLS
        }
    ),
)
def test_any_value_in_any_kind_of_cell_never_crashes(tmp_path_factory, texts, days, numbers):
    folder = tmp_path_factory.mktemp("prop")
    path = _save(folder, {**texts, **days, **numbers})
    try:
        checked = check(path)
    except OpsdocError:  # a clear refusal is allowed; a traceback is not
        return
    assert all(f.message and f.code for f in checked.report.findings)
    if checked.workbook.document is not None and not checked.report.errors:
        _build_and_verify(folder, path, texts)
    else:  # whatever is wrong, a draft still previews the document
        draft = build(path, folder / "draft", BuildOptions(draft=True)).output
        assert draft.name.endswith("_草稿.docx")
        docx.Document(draft)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.fixed_dictionaries({cell: CELL_TEXT.map(lambda t: f"值{t}") for cell in TEXT_CELLS}))
def test_any_text_builds_verifies_and_keeps_every_value(tmp_path_factory, texts):
    folder = tmp_path_factory.mktemp("text")
    path = _save(folder, texts)
    checked = check(path)
    reported = {f.code for f in checked.report.findings}
    if reported:  # only a placeholder (e.g. 【, YYYYMMDD) may stop unicode text
        assert reported <= {"placeholder-text"}, checked.report.to_text()
        return
    _build_and_verify(folder, path, texts)


def _zipfile_package(members: list[tuple[str, bytes]]) -> bytes:
    """The package as zipfile writes it on Unix: what deterministic_package wrote before writing its own records."""
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in members:
            fixed = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            fixed.create_system = 3
            target.writestr(fixed, content)
    return packed.getvalue()


MEMBERS = st.lists(
    st.tuples(st.text(st.sampled_from("abc/._[]文档"), min_size=1, max_size=12), st.binary(max_size=3000)),
    max_size=6,
    unique_by=lambda member: member[0],
)


@settings(max_examples=200, deadline=None)
@given(members=MEMBERS, precompressed=st.booleans())
def test_a_package_has_the_bytes_zipfile_writes(members, precompressed):
    entries = [(name, deflated(content) if precompressed else content) for name, content in members]
    packed = deterministic_package(entries)
    assert packed == _zipfile_package(members)
    with zipfile.ZipFile(io.BytesIO(packed)) as package:
        assert package.testzip() is None
        assert [(i.filename, package.read(i)) for i in package.infolist()] == members


@settings(max_examples=200, deadline=None)
@given(members=MEMBERS.filter(bool), data=st.data())
def test_replacing_one_entry_gives_the_package_written_whole(members, data):
    """with_members keeps the other entries' compressed bytes: the result is what packing it all again gives."""
    name = data.draw(st.sampled_from([member[0] for member in members]))
    content = data.draw(st.binary(max_size=3000))
    replaced = [(n, content if n == name else c) for n, c in members]
    assert with_members(deterministic_package(members), {name: content}) == deterministic_package(replaced)
