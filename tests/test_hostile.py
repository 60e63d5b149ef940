"""Hostile and broken input: each case ends in a clear message and exit code, and writes nothing."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from lxml import etree

import opsdoc.office.output
import opsdoc.office.xlsx
from opsdoc.cli import main
from tests.support import REPO, SAMPLE, SAMPLE_DOCX, corrupt_deflate, edit_sample, template_variant


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _sample_with(path: Path, part: str, transform) -> Path:
    """The sample with one package part rewritten (for XML attacks openpyxl would never write)."""
    with zipfile.ZipFile(SAMPLE) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry.filename)
            target.writestr(entry, transform(data) if entry.filename == part else data)
    return path


# Nine levels of ten: a billion "lol"s, about 3 GB, if a parser expanded them.
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10) for level in range(1, 10))
    + b"]>"
)


def _laughing(xml: bytes) -> bytes:
    """Declare the bomb and use it in the first inline string."""
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    return LAUGHS + body.replace(b"<is><t>", b"<is><t>&lol9;", 1)


def _with_doctype(doctype: bytes):
    return lambda xml: doctype + (xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml)


def _sheet_part(name: str) -> str:
    book = openpyxl.load_workbook(SAMPLE, read_only=True)
    index = book.sheetnames.index(name) + 1
    book.close()
    return f"xl/worksheets/sheet{index}.xml"


# (name, make(tmp_path) -> input path, expected message fragment); all exit 2.
UNUSABLE = [
    ("missing file", lambda d: d / "没有这个文件.xlsx", "文件不存在"),
    ("directory", lambda d: d, "文件夹"),
    ("empty file", lambda d: _write(d / "empty.xlsx", b""), "空的"),
    ("encrypted or xls", lambda d: _write(d / "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000)), "另存为"),
    ("csv", lambda d: _write(d / "data.csv", "文件版本,修订日期\nV1.0,20260301\n".encode()), "不是 .xlsx"),
    ("random bytes", lambda d: _write(d / "noise.xlsx", os.urandom(4096)), "不是 .xlsx"),
    ("png", lambda d: _write(d / "pic.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(100)), "不是 .xlsx"),
    ("truncated", lambda d: _write(d / "cut.xlsx", SAMPLE.read_bytes()[: len(SAMPLE.read_bytes()) // 2]), "xlsx"),
    ("zip without workbook", lambda d: _zip(d / "a.xlsx", {"readme.txt": b"hello"}), "没有工作簿内容"),
    ("word document", lambda d: _zip(d / "a.xlsx", {"word/document.xml": b"<w/>"}), "Word 文档"),
    ("ods", lambda d: _zip(d / "a.ods", {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}), ".ods"),
    ("xlsb", lambda d: _zip(d / "a.xlsb", {"xl/workbook.bin": b"\0" * 10}), ".xlsb"),
    (
        "zip bomb",
        lambda d: _zip(d / "bomb.xlsx", {"xl/workbook.xml": b"<a/>", "xl/worksheets/sheet1.xml": bytes(64 * 2**20)}),
        "压缩炸弹",
    ),
    ("too many members", lambda d: _zip(d / "many.xlsx", {f"x/{i}.xml": b"<a/>" for i in range(1001)}), "超过上限"),
    (
        "billion laughs in a sheet",
        lambda d: _sample_with(d / "lol.xlsx", _sheet_part("修订记录"), _laughing),
        "疑似恶意",
    ),
    (
        "external entity",
        lambda d: _sample_with(
            d / "xxe.xlsx",
            _sheet_part("预算"),
            _with_doctype(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'),
        ),
        "疑似恶意",
    ),
    (
        "broken sheet xml",
        lambda d: _sample_with(d / "bad.xlsx", _sheet_part("预算"), lambda x: x[: len(x) // 2]),
        "已损坏",
    ),
    ("cell beyond the column cap", lambda d: _far_column(d), "列数上限"),
    # a corrupt deflate stream where the DTD scan reads a part's first bytes, and late in a sheet read
    ("corrupt part start", lambda d: corrupt_deflate(SAMPLE, _sheet_part("填写说明"), 0.1, d / "z.xlsx"), "已损坏"),
    ("corrupt sheet end", lambda d: corrupt_deflate(SAMPLE, _sheet_part("文档信息"), 0.97, d / "z.xlsx"), "已损坏"),
]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _far_column(folder: Path) -> Path:
    book = openpyxl.load_workbook(SAMPLE)
    book["预算"].cell(row=3, column=300, value="藏在很远的列")
    book.save(folder / "far.xlsx")
    return folder / "far.xlsx"


@pytest.mark.parametrize("name, make, message", UNUSABLE, ids=[case[0] for case in UNUSABLE])
@pytest.mark.parametrize("command", ["check", "build"])
def test_unusable_workbooks_exit_2_with_a_clear_line(tmp_path, name, make, message, command):
    source = make(tmp_path)
    out = tmp_path / "out"
    args = [command, str(source)] + (["-o", str(out)] if command == "build" else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "part", ["xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml", "xl/_rels/workbook.xml.rels"]
)
def test_a_dtd_in_any_part_is_refused_before_parsing(tmp_path, part):
    """OOXML parts never declare a DTD; the bomb is refused unread, whichever part carries it."""
    import resource

    path = _sample_with(tmp_path / "lol.xlsx", part, _with_doctype(LAUGHS))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2 and "疑似恶意" in result.output and part in result.output
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 2 * 2**20  # KiB: far below 3 GB


def test_row_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(opsdoc.office.xlsx, "MAX_ROWS", 5)
    result = CliRunner().invoke(main, ["check", str(SAMPLE)])
    assert result.exit_code == 2 and "超过 5 行数据" in result.output


def test_a_lying_dimension_is_not_trusted(tmp_path):
    """A <dimension> claiming the whole sheet must neither hang the reader nor hide data."""
    part = _sheet_part("预算")
    path = _sample_with(
        tmp_path / "dim.xlsx",
        part,
        lambda x: x.replace(b'<dimension ref="A1:D200"/>', b'<dimension ref="A1:XFD1048576"/>').replace(
            b'<dimension ref="A1:D7"/>', b'<dimension ref="A1:B2"/>'
        ),
    )
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output


# (changes, expected (code, cell)); all exit 1 and write nothing.
CELL_CASES = [
    ({"组织职责!E2": "负责_x0007_项目管理"}, ("illegal-character", "组织职责!E2")),
    ({"组织职责!E3": "负责_x001B_巡检"}, ("illegal-character", "组织职责!E3")),
    ({"预算!C3": "=C2*2"}, ("formula-no-value", "预算!C3")),
    ({"预算!C3": "#REF!"}, ("error-cell", "预算!C3")),
    ({"预算!C4": "#N/A"}, ("error-cell", "预算!C4")),
    ({"服务周期!B2": "2026-02-30"}, ("bad-date", "服务周期!B2")),
    ({"服务周期!B2": "2026-13-01"}, ("bad-date", "服务周期!B2")),
    ({"服务周期!B2": "明年"}, ("bad-date", "服务周期!B2")),
    ({"服务周期!C2": True}, ("bad-date", "服务周期!C2")),
    ({"预算!C2": "一百万"}, ("bad-number", "预算!C2")),
    ({"风险登记!D2": "高"}, ("bad-number", "风险登记!D2")),
    ({"风险登记!E2": 0}, ("bad-choice", "风险登记!E2")),
    ({"组织职责!B2": "项目经理"}, ("bad-choice", "组织职责!B2")),
    ({"服务级别协议!A2": "P0"}, ("bad-choice", "服务级别协议!A2")),
    ({"文档信息!B1": None}, ("missing-value", "文档信息!B1")),
    ({"服务范围!B3": "【客户性质】"}, ("placeholder-text", "服务范围!B3")),
    ({"服务范围!B3": "YYYY-MM-DD前确定"}, ("placeholder-text", "服务范围!B3")),
    ({"预算!A2": "预算项", "预算!A1": "预算项"}, None),  # a header typed into a row is just text
]


@pytest.mark.parametrize("changes, expected", CELL_CASES)
def test_bad_cells_are_findings_and_nothing_is_written(tmp_path, changes, expected):
    path = edit_sample(tmp_path, changes)
    before = path.read_bytes()
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(path), "-o", str(out)])
    assert path.read_bytes() == before
    if expected is None:
        assert result.exit_code == 0, result.output
        return
    code, cell = expected
    assert result.exit_code == 1, result.output
    assert f"{cell}  错误 [{code}]" in result.output
    assert not out.exists()


def test_a_version_too_long_for_the_documents_properties_is_reported_not_crashed(tmp_path):
    """Word's core properties hold 255 characters: a 版本号 beyond that used to end a draft build
    in an internal error; it is reported at its cell, and a draft marks it 〔待填写〕."""
    workbook = edit_sample(tmp_path, {"文档信息!B4": "V" + "1" * 300})
    checked = CliRunner().invoke(main, ["check", str(workbook)])
    assert checked.exit_code == 1
    assert "文档信息!B4  错误 [bad-value] 版本号：太长（共 301 个字符，最多 100 个）" in checked.output
    draft = CliRunner().invoke(main, ["build", str(workbook), "-o", str(tmp_path / "out"), "--draft"])
    assert draft.exit_code == 0, draft.output
    assert [p.name.endswith("_〔待填写〕_草稿.docx") for p in (tmp_path / "out").iterdir()] == [True]


def test_a_cell_longer_than_excel_allows(tmp_path):
    """openpyxl will not write such a cell, but other tools do; the XML is edited directly."""
    import re

    def lengthen(xml: bytes) -> bytes:
        return re.sub(
            rb'(<c r="B1"[^>]*><is><t>)(.*?)(</t>)',
            lambda m: m.group(1) + "长".encode() * 40_000 + m.group(3),
            xml,
            count=1,
            flags=re.DOTALL,
        )

    path = _sample_with(tmp_path / "long.xlsx", _sheet_part("项目背景"), lengthen)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1 and "项目背景!B1  错误 [cell-too-long]" in result.output


def test_a_bare_timestamp_is_not_a_date(tmp_path):
    book = openpyxl.load_workbook(SAMPLE)
    book["服务周期"]["B2"] = 1795737600
    book["服务周期"]["B2"].number_format = "0"
    book.save(tmp_path / "w.xlsx")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "w.xlsx")])
    assert result.exit_code == 1 and "服务周期!B2  错误 [bad-date]" in result.output


def test_an_absurd_number_in_a_date_cell_is_a_bad_date(tmp_path):
    path = edit_sample(tmp_path, {"服务周期!B2": -(10**12)})  # date-formatted: before any date there is
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1 and "服务周期!B2  错误 [bad-date]" in result.output
    assert "Traceback" not in result.output


def test_a_date_serial_beyond_any_date_is_a_bad_date(tmp_path):
    path = edit_sample(tmp_path, {"服务周期!B2": 20260101})  # typed into a date-formatted cell
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1 and "服务周期!B2  错误 [bad-date]" in result.output


TEMPLATE_CASES = [
    ("{{ doc.customer_confirmer }}", "{{ doc.customer_confirmer ", "语法错误", "{{ doc.customer_confirmer ），"),
    ("{{ doc.customer_confirmer }}", "{{ doc.nope }}", "不存在的名称", "{{ doc.nope }}"),
    ("{{ doc.customer_confirmer }}", "{{ secret }}", "不存在的名称", "{{ secret }}"),
    ("{{ doc.customer_confirmer }}", "{{ doc.title.__class__.__mro__ }}", "不允许的内部属性", "__class__"),
    ("{{ doc.customer_confirmer }}", "{{ ''.__class__.__subclasses__() }}", "不允许的内部属性", "__subclasses__"),
    ("{{ doc.customer_confirmer }}", "{% for x in %}", "语法错误", None),
    # Budgets (issue #16): each stops in well under a second or two instead of minutes or gigabytes.
    (
        "{{ doc.customer_confirmer }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "循环共超过",
        None,
    ),
    ("{{ doc.customer_confirmer }}", "{{ 9**(9**9) }}", "结果过大", None),
    ("{{ doc.customer_confirmer }}", "{{ 'a' * 10**9 }}", "个字符，已停止", None),
    ("{{ doc.customer_confirmer }}", "{{ ('a'*100000).replace('a','a'*20).replace('a','a'*20) }}", "replace", None),
    ("{{ doc.customer_confirmer }}", "{{ ('a'*100000)|replace('a','a'*20)|replace('a','a'*20) }}", "|replace", None),
    (
        "{{ doc.customer_confirmer }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "「~」",
        None,
    ),
    ("{{ doc.customer_confirmer }}", "{{ '%0999999999d' % 1 }}", "「%」", None),
    ("{{ doc.customer_confirmer }}", "{{ doc.title|safe }}", "「|safe」", None),
    ("{{ doc.customer_confirmer }}", "{% filter safe %}{{ doc.title }}{% endfilter %}", "「|safe」", None),
    ("{{ doc.customer_confirmer }}", "{% autoescape false %}x{% endautoescape %}", "autoescape", None),
]


@pytest.mark.parametrize("old, new, message, excerpt", TEMPLATE_CASES)
def test_broken_or_hostile_templates_are_refused_with_the_place(tmp_path, old, new, message, excerpt):
    template = template_variant(tmp_path, (old, new))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(out), "--template", str(template)])
    assert result.exit_code == 2, result.output
    assert "公司模板.docx" in result.output and message in result.output
    if excerpt:
        assert excerpt in result.output
    assert not out.exists()


def test_tags_cutting_through_the_document_structure_are_refused(tmp_path):
    """{% if %} in a paragraph and its {% endif %} in a table cell: the rendered body is not well-formed."""
    template = template_variant(tmp_path, ("{{ doc.plan_adjust_date }}", "{% if doc.draft %}"))
    cut = tmp_path / "cut.docx"
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(cut, "w") as target:
        for entry in source.infolist():
            data = source.read(entry.filename)
            if entry.filename == "word/document.xml":
                data = data.decode().replace("{{ budget_total }}", "{% endif %}", 1).encode()
            target.writestr(entry, data)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(out), "--template", str(cut)])
    assert result.exit_code == 2, result.output
    assert "不是有效的 Word XML" in result.output and "标签切断" in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    "content, message",
    [(None, "模板不存在"), (b"not a docx", "不是 .docx"), ("bomb", "压缩炸弹")],
)
def test_missing_or_unusable_template(tmp_path, content, message):
    template = tmp_path / "t.docx"
    if content == "bomb":
        _zip(template, {"word/document.xml": bytes(64 * 2**20)})
    elif content is not None:
        template.write_bytes(content)
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path / "out"), "--template", str(template)])
    assert result.exit_code == 2 and message in result.output


def test_output_folder_that_is_a_file(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(blocker / "sub")])
    assert result.exit_code == 2 and "无法创建输出文件夹" in result.output


def test_output_path_taken_by_a_folder_is_reported(tmp_path):
    from opsdoc.pipeline import output_name
    from opsdoc.workbook.reader import read_workbook

    (tmp_path / output_name(read_workbook(SAMPLE).document.info)).mkdir()
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path)])
    assert result.exit_code in (2, 3) and "Traceback" not in result.output
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".opsdoc-")] == []


def test_interrupt_while_writing_leaves_no_partial_file(tmp_path, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(opsdoc.office.output.os, "link", interrupted)  # a new file is linked into place
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path)])
    assert result.exit_code == 130 and "已中断：未完成的操作没有写入任何文件。" in result.output
    assert list(tmp_path.iterdir()) == []


WRITER = """
import os, signal, sys
from pathlib import Path
from opsdoc.office.output import write_atomic
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # as a batch worker unwinds
folder, data = Path(sys.argv[1]), os.urandom(200_000)
print("ready", flush=True)
for i in range(100_000):
    write_atomic(folder / f"{i % 3}.docx", data)
"""


def test_a_writer_terminated_at_any_moment_leaves_no_temporary_file(tmp_path):
    """SIGTERM (a batch whose other worker crashed) or Ctrl-C at a random moment of writing, forty times:
    no temporary file is left, even when it comes while the file is being created (one run in ten did)."""
    import random
    import time

    for run in range(40):
        folder = tmp_path / str(run)
        folder.mkdir()
        with subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE, text=True) as writer:
            assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
            time.sleep(random.uniform(0.001, 0.03))
            writer.terminate()
        assert [p.name for p in folder.iterdir() if p.name.startswith(".opsdoc-")] == [], f"run {run}"


def test_unicode_and_markup_in_every_kind_of_cell_build(tmp_path):
    values = {
        "项目背景!B1": "emoji 🚑🏥 RTL עברית العربية combining é̃ <w:p/> & ]]> {% raw %}",
        "组织职责!A6": "Zoë 欧阳",
        "风险登记!C2": "{{ doc.__class__ }}\n第二行",
        "合同指标!B7": "≥95分 < 100 & > 90",
    }
    result = CliRunner().invoke(main, ["build", str(edit_sample(tmp_path, values)), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    (built,) = (tmp_path / "out").iterdir()
    with zipfile.ZipFile(built) as package:
        body = package.read("word/document.xml").decode()
    import html

    text = html.unescape(body)
    for value in [
        "emoji 🚑🏥 RTL עברית العربية combining é̃ <w:p/> & ]]> {% raw %}",
        "Zoë 欧阳",
        "{{ doc.__class__ }}",
        "≥95分 < 100 & > 90",
    ]:
        assert value in text


def test_an_output_held_open_by_another_program(tmp_path, monkeypatch):
    """Windows refuses to replace a file Word has open; root on Linux cannot reproduce that, so simulate it."""
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path)]).exit_code == 0
    (issued,) = tmp_path.glob("*.docx")
    before = issued.read_bytes()

    def locked(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(opsdoc.office.output.os, "replace", locked)
    changed = edit_sample(tmp_path, {"项目背景!B1": "改写后的建设背景。"}, name="changed.xlsx")
    result = runner.invoke(main, ["build", str(changed), "-o", str(tmp_path), "--force"])
    assert result.exit_code == 2 and "正被 Word/WPS 打开" in result.output
    assert issued.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".opsdoc-")] == []


def test_an_unwritable_output_folder(tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(opsdoc.office.output.tempfile, "mkstemp", refused)
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path)])
    assert result.exit_code == 2 and "无法在输出文件夹中写入文件" in result.output
    assert list(tmp_path.iterdir()) == []


# The output guard: every file a command writes is judged before any is written.

ISSUED_NAME = "QT-YW-GF-BH01-001_滨海市第一人民医院信息系统运维服务项目运维工作管理规范_V2.0"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_dump_context_at_the_input_workbook_is_refused(tmp_path, sample_copy):
    before = sample_copy.read_bytes()
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(sample_copy), "-o", str(out), "--dump-context", str(sample_copy)])
    assert result.exit_code == 2, result.output
    assert sample_copy.name in result.output and "输入文件" in result.output
    assert sample_copy.read_bytes() == before and not out.exists()


def test_dump_context_through_a_link_to_the_input_is_refused(tmp_path, sample_copy):
    before = sample_copy.read_bytes()
    (tmp_path / "hard.json").hardlink_to(sample_copy)
    (tmp_path / "soft.json").symlink_to(sample_copy)
    for link in ("hard.json", "soft.json"):
        args = ["build", str(sample_copy), "-o", str(tmp_path / "out"), "--dump-context", str(tmp_path / link)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and link in result.output, result.output
    assert sample_copy.read_bytes() == before and not (tmp_path / "out").exists()


def test_dump_context_at_an_issued_document_is_refused_and_nothing_is_written(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path)]).exit_code == 0
    issued = tmp_path / f"{ISSUED_NAME}.docx"
    before = _files(tmp_path)
    result = runner.invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path), "--dump-context", str(issued)])
    assert result.exit_code == 3 and issued.name in result.output, result.output
    assert _files(tmp_path) == before


def test_dump_context_never_overwrites_other_bytes_without_force(tmp_path):
    kept = _write(tmp_path / "context.json", b'{"mine": true}')
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(out), "--dump-context", str(kept)])
    assert result.exit_code == 3 and "context.json" in result.output
    assert kept.read_bytes() == b'{"mine": true}' and not out.exists()
    forced = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(out), "--dump-context", str(kept), "--force"])
    assert forced.exit_code == 0 and kept.read_bytes().startswith(b"{\n")


def test_a_refused_issued_pdf_leaves_no_new_docx(tmp_path, monkeypatch):
    import opsdoc.pipeline

    monkeypatch.setattr(opsdoc.pipeline, "_laid_out", lambda data, progress: (data, b"%PDF-1.7 new"))
    issued_pdf = _write(tmp_path / f"{ISSUED_NAME}.pdf", b"%PDF-1.7 issued")
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path), "--pdf"])
    assert result.exit_code == 3 and issued_pdf.name in result.output, result.output
    assert _files(tmp_path) == {issued_pdf.name: b"%PDF-1.7 issued"}


def test_an_issued_name_in_nfd_is_the_same_name(tmp_path):
    import unicodedata

    workbook = edit_sample(tmp_path, {"文档信息!B1": "Café医院运维服务项目"})
    out = tmp_path / "out"
    out.mkdir()
    nfd = unicodedata.normalize("NFD", "QT-YW-GF-BH01-001_Café医院运维服务项目运维工作管理规范_V2.0.docx")
    issued = _write(out / nfd, b"issued on a Mac")
    result = CliRunner().invoke(main, ["build", str(workbook), "-o", str(out)])
    assert result.exit_code == 3, result.output
    assert "Café医院运维服务项目" in unicodedata.normalize("NFC", result.output)
    assert _files(out) == {issued.name: b"issued on a Mac"}


def _built_name(tmp_path: Path, project: str) -> str:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(edit_sample(tmp_path, {"文档信息!B1": project})), "-o", str(out)])
    assert result.exit_code == 0, result.output
    (built,) = out.iterdir()
    return built.name


def test_a_right_to_left_override_never_reaches_the_file_name(tmp_path):
    name = _built_name(tmp_path, "滨海\u202ecod.exe\u202c医院")
    assert name == "QT-YW-GF-BH01-001_滨海cod.exe医院运维工作管理规范_V2.0.docx"


@pytest.mark.parametrize("project", ["CON", "NUL", "COM1.", "CON "])
def test_a_device_name_in_the_project_is_harmless(tmp_path, project):
    from opsdoc.office.output import safe_file_name

    name = _built_name(tmp_path, project)
    assert name.startswith("QT-YW-GF-BH01-001_") and name.endswith("运维工作管理规范_V2.0.docx")
    assert safe_file_name(project) == "_" + project.strip().rstrip(".")


@pytest.mark.parametrize(
    "raw, safe",
    [
        ("con.txt", "_con.txt"),
        ("COM1.docx", "_COM1.docx"),
        ("LPT9 .x", "_LPT9 .x"),
        ("aux", "_aux"),
        ("CONSOLE.docx", "CONSOLE.docx"),
        ("a<b>:c|d?.docx. ", "a_b__c_d_.docx"),
        ("e\u0301\u200b\u2066x\u2069", "éx"),
    ],
)
def test_safe_file_name(raw, safe):
    from opsdoc.office.output import safe_file_name

    assert safe_file_name(raw) == safe


def test_a_project_name_too_long_for_a_file_name_is_cut_keeping_the_version(tmp_path):
    name = _built_name(tmp_path, "医" * 100)  # 300 bytes in UTF-8
    assert len(name.encode("utf-8")) <= 255 and name.endswith("运维工作管理规范_V2.0.docx")
    assert name.startswith("QT-YW-GF-BH01-001_医医")


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _invoke_into(outcome: list, args: list[str]) -> None:
    outcome.append(CliRunner().invoke(main, args))


def test_a_fifo_is_never_opened(tmp_path):
    """A FIFO as workbook or output would block forever on open; a thread bounds the test."""
    import threading

    out = tmp_path / "out"
    out.mkdir()
    cases = [
        (["check", str(_fifo(tmp_path / "pipe.xlsx"))], "pipe.xlsx"),
        (["check", str(SAMPLE), "--config", str(_fifo(tmp_path / "pipe.toml"))], "pipe.toml"),
        (["build", str(SAMPLE), "-o", str(out)], f"{ISSUED_NAME}.docx"),
        (["build", str(SAMPLE), "-o", str(tmp_path / "o2"), "--dump-context", str(tmp_path / "c.json")], "c.json"),
    ]
    _fifo(out / f"{ISSUED_NAME}.docx")
    _fifo(tmp_path / "c.json")
    for args, named in cases:
        outcome: list = []
        runner = threading.Thread(target=_invoke_into, args=(outcome, args), daemon=True)
        runner.start()
        runner.join(timeout=20)
        assert outcome, f"hung on {named}"
        assert outcome[0].exit_code == 2 and named in outcome[0].output, outcome[0].output
    assert [p.name for p in out.iterdir()] == [f"{ISSUED_NAME}.docx"] and not (tmp_path / "o2").exists()


def test_a_batch_folder_takes_upper_case_xlsx_and_reports_lookalikes(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    _write(source / "UPPER.XLSX", SAMPLE.read_bytes())
    _write(source / "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000))
    _write(source / "~$UPPER.XLSX", b"lock")
    _write(source / "notes.txt", b"not a workbook")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(source), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "✓" in result.output and "UPPER.XLSX" in result.output
    assert "old.xls" in result.output and "另存为" in result.output
    assert "~$" not in result.output and "notes.txt" not in result.output
    assert [p.name for p in out.iterdir()] == [f"{ISSUED_NAME}.docx"]


# ---------------------------------------------------------------- one parse per sheet (issue #16)


def _edit_part(tmp_path: Path, sheet: str, old: bytes, new: bytes, name: str = "edited.xlsx") -> Path:
    """The sample with one byte string of a sheet's XML replaced: spellings openpyxl never writes."""

    def edit(xml: bytes) -> bytes:
        assert old in xml, old
        return xml.replace(old, new, 1)

    return _sample_with(tmp_path / name, _sheet_part(sheet), edit)


def _build(path: Path, tmp_path: Path):
    before = path.read_bytes()
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(path), "-o", str(out)])
    assert path.read_bytes() == before and not out.exists(), result.output
    assert "Traceback" not in result.output
    return result


def _cell_xml(tmp_path: Path, sheet: str, ref: str) -> bytes:
    """The whole <c> element of one cell of the sample, as written."""
    import re

    with zipfile.ZipFile(SAMPLE) as package:
        xml = package.read(_sheet_part(sheet))
    match = re.search(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', xml, re.DOTALL)
    assert match, ref
    return match.group()


def test_an_error_cell_with_single_quoted_type_is_found(tmp_path):
    old = _cell_xml(tmp_path, "预算", "C3")
    path = _edit_part(tmp_path, "预算", old, b"<c r='C3' t='e'><v>#DIV/0!</v></c>")
    result = _build(path, tmp_path)
    assert result.exit_code == 1 and "预算!C3  错误 [error-cell]" in result.output and "#DIV/0!" in result.output


def test_an_error_cell_without_a_reference_is_found_by_its_place_in_the_row(tmp_path):
    """OOXML lets a cell omit r: it is the one after the cell before it (here C3, after B3)."""
    old = _cell_xml(tmp_path, "预算", "C3")
    path = _edit_part(
        tmp_path,
        "预算",
        old,
        b'<x:c xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" t="e"><x:v>#REF!</x:v></x:c>',
    )
    result = _build(path, tmp_path)
    assert result.exit_code == 1 and "预算!C3  错误 [error-cell]" in result.output


@pytest.mark.parametrize("spelling", [b"<c r='XFD1048576'>", b'<c r = "xfd1048576" >', b"<c  r='AAA90000' >"])
def test_a_far_cell_in_any_spelling_is_refused_by_the_caps(tmp_path, spelling):
    import resource

    old = _cell_xml(tmp_path, "预算", "C3")
    path = _edit_part(tmp_path, "预算", old, old + spelling + b"<v>1</v></c>")
    result = _build(path, tmp_path)
    assert result.exit_code == 2 and "工作表「预算」" in result.output and "上限" in result.output
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 2 * 2**20  # KiB: no grid was built


def test_a_far_cell_within_the_column_cap_is_refused_by_the_area_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(opsdoc.office.xlsx, "MAX_AREA", 100_000)
    old = _cell_xml(tmp_path, "预算", "C3")
    path = _edit_part(tmp_path, "预算", old, old + b"<c r='IV15000'><v>1</v></c>")
    result = _build(path, tmp_path)
    assert result.exit_code == 2 and "数据范围（15000 行 × 256 列）超出上限" in result.output


def test_two_sheets_with_the_same_name_are_refused(tmp_path):
    path = _sample_with(
        tmp_path / "twice.xlsx",
        "xl/workbook.xml",
        lambda xml: xml.replace('name="修订记录"'.encode(), 'name="预算"'.encode(), 1),
    )
    result = _build(path, tmp_path)
    assert result.exit_code == 2 and "两个同名的工作表「预算」" in result.output


def test_a_percent_cell_reads_as_excel_shows_it(tmp_path):
    from opsdoc.workbook.reader import read_workbook

    book = openpyxl.load_workbook(SAMPLE)
    book["项目背景"]["B1"] = 0.98
    book["项目背景"]["B1"].number_format = "0%"
    book["项目背景"]["B2"] = 1234.5
    book["项目背景"]["B2"].number_format = "#,##0.00"
    book.save(tmp_path / "percent.xlsx")
    data = read_workbook(tmp_path / "percent.xlsx").data["项目背景"]
    assert list(data.values())[:2] == ["98%", 1234.5]
    document = read_workbook(tmp_path / "percent.xlsx").document
    assert "98%" in str(document.model_dump()) and "1,234.50" in str(document.model_dump())


def test_a_number_longer_than_excel_keeps_is_reported(tmp_path):
    path = edit_sample(tmp_path, {"组织职责!E2": 110101199001011000})
    result = _build(path, tmp_path)
    assert result.exit_code == 1 and "组织职责!E2  错误 [number-too-long]" in result.output
    assert "文本" in result.output and "008" not in result.output


@pytest.mark.parametrize("spelling", [b"NaN", b"inf", b"-Infinity", b"1e999"])
def test_nan_and_infinity_are_bad_numbers(tmp_path, spelling):
    old = _cell_xml(tmp_path, "预算", "C3")
    path = _edit_part(tmp_path, "预算", old, b'<c r="C3"><v>' + spelling + b"</v></c>")
    result = _build(path, tmp_path)
    assert result.exit_code == 1 and "预算!C3  错误 [bad-number]" in result.output


def test_merged_catalogue_cells_give_every_row_the_value(tmp_path):
    from opsdoc.workbook.reader import read_workbook

    book = openpyxl.load_workbook(SAMPLE)
    sheet = book["服务目录"]
    column = next(cell.column_letter for cell in sheet[1] if cell.value == "服务方式")
    sheet[f"{column}2"] = "驻场"
    sheet.merge_cells(f"{column}2:{column}4")
    book.save(tmp_path / "merged.xlsx")
    read = read_workbook(tmp_path / "merged.xlsx")
    assert [f.code for f in read.findings] == []
    assert [row["服务方式"] for row in read.data["服务目录"][:3]] == ["驻场"] * 3


@pytest.mark.parametrize("sheet, area", [("服务目录", "A1:B1"), ("项目背景", "B1:B2")])
def test_merges_in_a_header_or_key_value_sheet_are_reported(tmp_path, sheet, area):
    book = openpyxl.load_workbook(SAMPLE)
    book[sheet].merge_cells(area)
    book.save(tmp_path / "merged.xlsx")
    result = _build(tmp_path / "merged.xlsx", tmp_path)
    assert result.exit_code == 1 and f"{sheet}!{area}  错误 [merged-cells]" in result.output


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "管道.xlsx"
    os.mkfifo(fifo)
    result = CliRunner().invoke(main, ["check", str(fifo)])
    assert result.exit_code == 2 and "不是普通文件" in result.output and "管道.xlsx" in result.output


def test_a_doctype_after_a_long_prolog_is_refused(tmp_path):
    """The package check looks at a part's first 4 KiB; the parser refuses a DTD wherever it is."""
    padding = b"<!--" + b" " * 10_000 + b"-->"
    path = _sample_with(
        tmp_path / "deep.xlsx",
        _sheet_part("预算"),
        _with_doctype(b'<?xml version="1.0"?>' + padding + b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'),
    )
    result = _build(path, tmp_path)
    assert result.exit_code == 2 and "DTD" in result.output and "疑似恶意" in result.output


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a|aa)*b", r"(\w+\s?)*$", r"(QT-[A-Z]+)*\d"])
def test_a_config_pattern_that_can_backtrack_forever_is_refused(tmp_path, pattern):
    workbook = tmp_path / SAMPLE.name
    workbook.write_bytes(SAMPLE.read_bytes())
    (tmp_path / "opsdoc.toml").write_text(f"file_code_pattern = '{pattern}'\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(workbook)])
    assert result.exit_code == 2
    assert "opsdoc.toml" in result.output and "file_code_pattern" in result.output and "嵌套的重复" in result.output


def test_a_fixed_count_inside_a_repetition_is_accepted(tmp_path):
    workbook = tmp_path / SAMPLE.name
    workbook.write_bytes(SAMPLE.read_bytes())
    (tmp_path / "opsdoc.toml").write_text("file_code_pattern = '([A-Z]{2}-)+[A-Z0-9]+-\\d{3}'\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["check", str(workbook)]).exit_code == 0


def test_an_overlong_code_is_reported_at_its_cell_before_the_company_pattern_sees_it(tmp_path):
    (tmp_path / "opsdoc.toml").write_text("file_code_pattern = 'QT-[A-Z0-9-]+'\n", encoding="utf-8")
    workbook = edit_sample(tmp_path, {"文档信息!B3": "QT-" + "A" * 300})
    result = CliRunner().invoke(main, ["check", str(workbook)])
    assert result.exit_code == 1 and "[file-code-format]" not in result.output
    assert "文档信息!B3  错误 [bad-value] 文件编码：太长（共 303 个字符，最多 100 个）" in result.output


def test_a_template_that_runs_past_the_deadline_is_stopped(tmp_path, monkeypatch):
    """Exponential macro recursion passes every size budget; the render deadline stops it."""
    import opsdoc.generate.sandbox

    monkeypatch.setattr(opsdoc.generate.sandbox, "MAX_SECONDS", 1.0)
    recursion = "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}"
    template = template_variant(tmp_path, ("{{ doc.customer_confirmer }}", recursion))
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path / "out"), "--template", str(template)])
    assert result.exit_code == 2 and "模板渲染超过 1 秒" in result.output
    assert not (tmp_path / "out").exists()


def test_template_check_reports_a_template_over_budget(tmp_path):
    template = template_variant(tmp_path, ("{{ doc.customer_confirmer }}", "{{ 9**(9**9) }}"))
    result = CliRunner().invoke(main, ["template", "check", str(template)])
    assert result.exit_code == 1 and "[template-over-budget]" in result.output


def test_full_width_digits_in_a_version_are_the_same_version(tmp_path):
    """An IME's 全角 digits (Ｖ２．０) must not become a second spelling of V2.0 in the file name."""
    workbook = edit_sample(tmp_path, {"文档信息!B4": "Ｖ２．０", "修订记录!A5": "V２.０"})
    result = CliRunner().invoke(main, ["build", str(workbook), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    (built,) = (tmp_path / "out").iterdir()
    assert built.name.endswith("运维工作管理规范_V2.0.docx")


# ---------------------------------------------------------------- verify and diff of a long document

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# Runs the command given as its own child and prints that child's exit code and peak RSS (KiB),
# then its output: this wrapper is a fresh process, so no earlier child of the tests counts.
PEAK = (
    "import resource, subprocess, sys; run = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
    "print(run.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(run.stdout + run.stderr)"
)


def _long_register(path: Path, rows: int, renamed: int | None = None) -> Path:
    """The sample document with `rows` more 服务目录 rows, each with its own 编号; row `renamed` with another 服务项."""
    with zipfile.ZipFile(SAMPLE_DOCX) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        root = etree.fromstring(source.read("word/document.xml"))
        table = next(t for t in root.iter(W + "tbl") if next(t.iter(W + "t")).text == "编号")
        model = table.findall(W + "tr")[1]
        for n in range(1, rows + 1):
            row = copy.deepcopy(model)
            cells = [next(tc.iter(W + "t")) for tc in row.iter(W + "tc")]
            cells[0].text = f"SC-{n:05d}"
            cells[2].text = "改名的服务项" if n == renamed else f"服务项{n}"
            table.append(row)
        for entry in source.infolist():
            data = etree.tostring(root) if entry.filename == "word/document.xml" else source.read(entry)
            target.writestr(entry, data)
    return path


def _peak(*arguments: str) -> tuple[int, int, str]:
    """Exit code, peak RSS in KiB and output of `opsdoc arguments` run in a process of its own."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-c", PEAK, sys.executable, "-m", "opsdoc", *arguments]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO, env=env).stdout
    head, output = out.split("\n", 1)
    code, kib = head.split()
    return int(code), int(kib), output


def test_verify_and_diff_of_a_25000_row_register_stay_within_500_mb(tmp_path):
    """Issue #16: both read the document as a stream, so memory grows with the text, not with Word's XML."""
    old = _long_register(tmp_path / "old.docx", 25_000)
    new = _long_register(tmp_path / "new.docx", 25_000, renamed=12_345)
    code, kib, output = _peak("verify", str(new))
    assert code == 0 and output.strip() == f"{new}：0 个错误，0 个警告", output
    assert kib * 1024 <= 500e6, f"verify peaked at {kib // 1024} MiB"
    code, kib, output = _peak("diff", "--note", str(old), str(new))
    assert code == 0 and output.strip() == "第4章：SC-12345服务项由“服务项12345”调整为“改名的服务项”", output
    assert kib * 1024 <= 500e6, f"diff peaked at {kib // 1024} MiB"


def test_a_template_property_longer_than_word_keeps_is_refused(tmp_path):
    """A core property renders past the 255 characters Word keeps (python-docx refuses it): the template
    is refused with the reason, by a build and by `template check`, never an internal error."""
    template = template_variant(
        tmp_path,
        ("<dc:description></dc:description>", f"<dc:description>{'长' * 300}</dc:description>"),
        part="docProps/core.xml",
    )
    for arguments in (
        ["build", str(SAMPLE), "-o", str(tmp_path / "out"), "--template", str(template)],
        ["template", "check", str(template)],
    ):
        result = CliRunner().invoke(main, arguments)
        assert result.exit_code == 2, result.output
        assert "255" in result.output and "内部错误" not in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_a_cell_reference_out_of_its_row_is_read_where_it_says(tmp_path):
    """Cells whose references leave their <row> (a file no spreadsheet writes) are placed by their own
    references: the reader's shortcut for a cell in its own row never carries a wrong row along."""
    from opsdoc.office.xlsx import read_sheets

    rows = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>章节</t></is></c><c r="B1" t="inlineStr"><is><t>正文</t></is></c></row>'
        '<row r="3"><c r="A9" t="inlineStr"><is><t>a9</t></is></c><c r="B3" t="inlineStr"><is><t>b3</t></is></c>'
        '<c r="C3" t="inlineStr"><is><t>c3</t></is></c></row>'
    )
    path = _sample_with(
        tmp_path / "rows.xlsx",
        _sheet_part("补充说明"),
        lambda xml: re.sub(rb"<sheetData>.*</sheetData>", f"<sheetData>{rows}</sheetData>".encode(), xml, flags=re.S),
    )
    sheet = read_sheets(path, ["补充说明"])["补充说明"]
    assert sheet.rows[8][0] == "a9" and sheet.rows[2][1:3] == ["b3", "c3"]
