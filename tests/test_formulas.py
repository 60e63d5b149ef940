"""No formula from data: what a person typed is written back as text in every workbook opsdoc makes."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from opsdoc import api
from opsdoc.pipeline import IssueOptions, issue
from tests.support import SAMPLE
from tests.test_issue import fake_lay_out

# What a spreadsheet would run, or read as the start of a formula, if it were written as one.
TYPED = ['=HYPERLINK("http://例子.invalid","点此")', "+86 138 0000 0000", "-（无）", "@负责人"]


def _with_text(tmp_path: Path, cells: dict[str, str], name: str = "工作簿.xlsx") -> Path:
    """The sample with `cells` holding these texts, stored as text (as Excel stores '=… typed with a quote)."""
    book = openpyxl.load_workbook(SAMPLE)
    for ref, text in cells.items():
        sheet, cell = ref.split("!")
        book[sheet][cell] = text
        book[sheet][cell].data_type = "s"
    path = tmp_path / name
    book.save(path)
    return path


def _texts(path: Path, sheet: str) -> list[tuple[str, str]]:
    """Every cell of the sheet that holds one of TYPED's texts: (value, openpyxl's type)."""
    book = openpyxl.load_workbook(path)
    return [
        (cell.value, cell.data_type)
        for row in book[sheet].iter_rows()
        for cell in row
        if isinstance(cell.value, str) and any(cell.value.startswith(t[:3]) for t in TYPED)
    ]


def test_the_register_export_writes_a_formula_like_note_as_text(tmp_path):
    workbook = _with_text(tmp_path, {"修订记录!H5": TYPED[0]})
    assert (
        issue(workbook, IssueOptions(archive=tmp_path / "归档", backdate=True), lay_out=fake_lay_out).issued is not None
    )
    written = api.export_register(tmp_path / "归档", tmp_path / "受控文件清单.xlsx")
    ((remark, kind),) = _texts(written.path, "受控文件清单")
    assert remark.startswith(TYPED[0]) and kind == "s"


def test_an_imported_paragraph_that_starts_like_a_formula_stays_text(tmp_path):
    background = "\n".join(f"{t}：院内沟通时的写法。" for t in TYPED)
    result = api.build(_with_text(tmp_path, {"项目背景!B1": background}), tmp_path / "out")
    assert result.output is not None, result.report.to_text()
    imported = api.import_document(result.output, tmp_path / "导入.xlsx")
    assert _texts(imported.file.path, "项目背景") == [(background, "s")]


@pytest.mark.parametrize("name", ["=SUM(1,1).xlsx", "@项目.xlsx"])
def test_the_annotated_copy_writes_a_formula_like_file_name_as_text(tmp_path, name):
    source = tmp_path / name
    shutil.copyfile(SAMPLE, source)
    copy = api.annotate(api.check(source), tmp_path / "标注.xlsx").path
    summary = openpyxl.load_workbook(copy)["检查结果"]["A1"]
    assert summary.data_type == "s" and summary.value.startswith(name)
