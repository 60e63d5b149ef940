"""The blank workbook a manager starts from."""

import io

import openpyxl

from opsdoc.contract.model import SHEETS
from opsdoc.workbook.blank import new_workbook
from tests.support import REPO

COMMITTED = REPO / "workbook_templates" / "运维工作管理规范.xlsx"


def test_committed_blank_workbook_is_what_the_generator_makes():
    assert COMMITTED.read_bytes() == new_workbook(), (
        "run: opsdoc workbook new -o workbook_templates/运维工作管理规范.xlsx --force"
    )


def _book():
    return openpyxl.load_workbook(io.BytesIO(new_workbook()))


def test_every_sheet_and_header_of_the_contract():
    book = _book()
    assert book.sheetnames == ["填写说明", *[s.title for s in SHEETS], "字典"]
    assert book["字典"].sheet_state == "hidden"
    for spec in SHEETS:
        sheet = book[spec.title]
        if spec.is_table:
            assert [c.value for c in sheet[1]] == [c.label for c in spec.columns]
            assert sheet.freeze_panes == "A2"
        else:
            assert [sheet.cell(row=r, column=1).value for r in range(1, len(spec.columns) + 1)] == [
                c.label for c in spec.columns
            ]


def test_choice_columns_have_dropdowns_backed_by_the_hidden_sheet():
    sheet = _book()["组织职责"]
    lists = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    by_range = {str(v.sqref): v.formula1 for v in lists}
    assert set(by_range) == {"B2:B2000", "D2:D2000"}  # 岗位, 工作方式
    formula = by_range["B2:B2000"]
    column = formula.split("!")[1].replace("$", "").split(":")[0][0]
    hidden = _book()["字典"]
    values = [c.value for c in hidden[column][1:] if c.value]
    assert values == ["服务项目经理", "服务项目工程师", "其他"]


def test_every_header_has_an_input_hint():
    book = _book()
    for spec in SHEETS:
        sheet = book[spec.title]
        prompts = {}
        for rule in sheet.data_validations.dataValidation:
            if rule.prompt:
                for cell_range in rule.sqref.ranges:
                    prompts[cell_range.coord.split(":")[0]] = rule.prompt
        for index, column in enumerate(spec.columns, start=1):
            cell = f"{openpyxl.utils.get_column_letter(index)}1" if spec.is_table else f"B{index}"
            assert column.hint in prompts[cell] or prompts[cell].startswith(("必填", "选填")), (spec.title, cell)


def test_instructions_explain_each_sheet():
    sheet = _book()["填写说明"]
    text = "\n".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    for spec in SHEETS:
        assert spec.title in text
