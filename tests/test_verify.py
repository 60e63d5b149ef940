"""opsdoc verify: the built sample passes; each way of breaking it is caught with its code and place."""

from __future__ import annotations

import copy
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Cm

from opsdoc.contract.findings import Cell, Stage, codes_of
from opsdoc.contract.model import SHEETS
from opsdoc.errors import OpsdocError, TemplateError, UnusableDocument
from opsdoc.generate.context import build_context, default_template
from opsdoc.office import docx_text
from opsdoc.office.docx_text import read_document
from opsdoc.qa.verify import verify_document
from opsdoc.workbook.reader import read_workbook
from tests.support import SAMPLE, SAMPLE_DOCX, convert_with_libreoffice, edit_sample


def broken(tmp_path: Path, change) -> Path:
    """A copy of the sample document with `change(document)` applied, as a hand edit would."""
    document = docx.Document(SAMPLE_DOCX)
    change(document)
    path = tmp_path / "broken.docx"
    document.save(path)
    return path


def paragraph(document, text: str):
    return next(p for p in document.paragraphs if p.text == text)


def remove(element) -> None:
    element.getparent().remove(element)


def number_of(path: Path, text: str) -> int:
    """1-based number of the body paragraph with this text, as verify counts them."""
    return 1 + [p.text for p in docx.Document(path).paragraphs].index(text)


def found(report) -> list[tuple]:
    return [(f.code, f.location.part, f.location.paragraph, f.location.table, f.location.row) for f in report.findings]


def test_the_sample_passes_with_and_without_its_workbook():
    assert verify_document(SAMPLE_DOCX).findings == []
    assert verify_document(SAMPLE_DOCX, workbook=SAMPLE).findings == []


def test_every_code_has_a_severity_and_a_title():
    assert all(c.title and c.severity.value in "EW" for c in codes_of(Stage.VERIFY))


def test_deleted_chapter_heading(tmp_path):
    path = broken(tmp_path, lambda d: remove(paragraph(d, "组织职责")._p))
    report = verify_document(path)
    assert found(report) == [("chapter-missing", "body", number_of(path, "目标和范围"), None, None)]
    assert "第2章「组织职责」" in report.findings[0].message


def test_swapped_chapters_are_one_finding(tmp_path):
    def swap_8_and_9(document):
        body = document.element.body
        blocks = list(body)
        start = blocks.index(paragraph(document, "绩效考核")._p)
        end = blocks.index(paragraph(document, "服务合同")._p)
        anchor = paragraph(document, "工作规范")._p
        for element in blocks[start:end]:
            anchor.addprevious(element)

    path = broken(tmp_path, swap_8_and_9)
    report = verify_document(path)
    assert found(report) == [("chapter-order", "body", number_of(path, "绩效考核"), None, None)]
    assert "第9章「绩效考核」" in report.findings[0].message


def test_changed_chapter_title(tmp_path):
    def rename(document):
        paragraph(document, "项目背景").runs[0].text = "项目简介"

    path = broken(tmp_path, rename)
    report = verify_document(path)
    assert found(report) == [("chapter-title", "body", number_of(path, "项目简介"), None, None)]
    assert report.findings[0].location.excerpt == "项目简介"


def test_chapter_heading_in_the_wrong_style(tmp_path):
    def restyle(document):
        paragraph(document, "工作计划").style = document.styles["Normal"]

    path = broken(tmp_path, restyle)
    assert found(verify_document(path)) == [("chapter-style", "body", number_of(path, "工作计划"), None, None)]


def test_missing_and_renamed_sections(tmp_path):
    def change(document):
        remove(paragraph(document, "预算管理")._p)
        paragraph(document, "风险管理").runs[0].text = "风险控制"

    path = broken(tmp_path, change)
    report = verify_document(path)
    assert found(report) == [
        ("section-missing", "body", number_of(path, "报告管理"), None, None),
        ("section-title", "body", number_of(path, "风险控制"), None, None),
    ]
    assert [f.message for f in report.findings] == [
        "缺少第6章的小节「预算管理」（Heading 2），应在此标题之前",
        "第6章的小节「风险管理」的标题被改为「风险控制」",
    ]


def test_removed_fixed_paragraph(tmp_path):
    path = broken(
        tmp_path, lambda d: remove(paragraph(d, "应按照公司财务部门的要求编制部门成本预算和服务项目的成本预算。")._p)
    )
    report = verify_document(path)
    # Missing before the budget table's caption, which now stands where the paragraph ended.
    assert found(report) == [("fixed-text-missing", "body", number_of(path, "表7\u3000项目成本预算"), None, None)]
    assert "应按照公司财务部门的要求编制部门成本预算" in report.findings[0].message


def test_edited_fixed_paragraph(tmp_path):
    text = "项目中的投诉和满意度由公司统一管理，投诉的具体定义应由服务项目经理与客户沟通商定，达成一致。"

    def edit(document):
        paragraph(document, text).runs[0].text = text.replace("公司统一管理", "项目组自行管理")

    path = broken(tmp_path, edit)
    assert found(verify_document(path)) == [
        ("fixed-text-changed", "body", number_of(path, text.replace("公司统一管理", "项目组自行管理")), None, None)
    ]


def test_leftover_tag(tmp_path):
    def tag(document):
        document.tables[1].rows[0].cells[1].paragraphs[0].runs[0].text = "{{ doc.customer }}"

    report = verify_document(broken(tmp_path, tag))
    assert [(f.code, str(f.location)) for f in report.findings] == [
        ("template-tag", "正文 表2 第1行「{{ doc.customer }}」")
    ]


def test_leftover_placeholder_date_in_the_revision_table(tmp_path):
    def placeholder(document):
        cell = document.tables[2].rows[2].cells[1]
        cell.paragraphs[0].runs[0].text = "YYYYMMDD/周建峰"

    report = verify_document(broken(tmp_path, placeholder))
    assert found(report) == [("placeholder-text", "body", None, 3, 3)]
    assert "YYYYMMDD" in report.findings[0].message


def test_footer_version_differs(tmp_path):
    def footer(document):
        run = next(r for p in document.sections[0].footer.paragraphs for r in p.runs if "V2.0" in r.text)
        run.text = run.text.replace("V2.0", "V1.9")

    report = verify_document(broken(tmp_path, footer))
    assert found(report) == [("version-mismatch", "footer", 1, None, None)]
    assert report.findings[0].message == "页脚的版本号是 V1.9，封面是 V2.0"


def test_deleted_last_revision_row(tmp_path):
    def delete_row(document):
        table = document.tables[2]
        remove(table.rows[-1]._tr)

    report = verify_document(broken(tmp_path, delete_row))
    assert found(report) == [("version-mismatch", "body", None, 3, 4)]
    assert report.findings[0].message == "文件版本历史最后一行的版本号是 V1.2，封面是 V2.0"


def test_revision_versions_must_increase(tmp_path):
    def swap(document):
        rows = document.tables[2].rows
        rows[1].cells[0].paragraphs[0].runs[0].text = "V1.1"
        rows[2].cells[0].paragraphs[0].runs[0].text = "V1.0"

    assert found(verify_document(broken(tmp_path, swap))) == [("revision-order", "body", None, 3, 3)]


@pytest.mark.parametrize("typed", ["1.2.3", "V1.2.3", "1.2", "v1.2", "V１.２"])
def test_a_history_version_not_in_the_form_v_major_minor(tmp_path, typed):
    """The one version syntax of the rules (V主版本.次版本) is verify's too."""

    def retype(document):
        document.tables[2].rows[3].cells[0].paragraphs[0].runs[0].text = typed

    report = verify_document(broken(tmp_path, retype))
    assert found(report) == [("revision-order", "body", None, 3, 4)]
    assert report.findings[0].message == f"「{typed}」不是 V主版本.次版本 格式的版本号"


def test_core_property_version(tmp_path):
    def properties(document):
        document.core_properties.version = "V1.2"

    report = verify_document(broken(tmp_path, properties))
    assert [(f.code, str(f.location)) for f in report.findings] == [("version-mismatch", "文档属性「V1.2」")]


def test_changed_margins(tmp_path):
    def margins(document):
        document.sections[0].left_margin = Cm(2)

    report = verify_document(broken(tmp_path, margins))
    assert [(f.code, f.location.section) for f in report.findings] == [("page-setup", 1)]
    assert report.findings[0].message == "左边距为 2.00 厘米，模板为 3.17 厘米"


def test_style_the_template_does_not_define(tmp_path):
    def add_style(document):
        from docx.enum.style import WD_STYLE_TYPE

        style = document.styles.add_style("手工样式", WD_STYLE_TYPE.PARAGRAPH)
        paragraph(document, "说明：").style = style

    path = broken(tmp_path, add_style)
    report = verify_document(path)
    assert found(report) == [("unknown-style", "body", number_of(path, "说明："), None, None)]


def test_missing_toc_field(tmp_path):
    def drop_toc(document):
        for p in document.paragraphs:
            if p.style.name == "toc 1":
                remove(p._p)

    report = verify_document(broken(tmp_path, drop_toc))
    assert [f.code for f in report.findings] == ["toc-missing"]


def test_dropped_workbook_values_are_named_by_cell(tmp_path):
    def drop(document):
        # 吴海燕 also signs the cover as 审核: the 部门经理 sentence is not her only place.
        remove(next(p for p in document.paragraphs if p.text.startswith("本项目服务目录和服务级别协议"))._p)
        duties = document.tables[3].rows[2].cells[4]
        remove(duties.paragraphs[1]._p)

    path = broken(tmp_path, drop)
    assert verify_document(path).findings == []  # nothing of the template is lost
    report = verify_document(path, workbook=SAMPLE)
    assert [(f.code, str(f.location), [(r.table, r.row) for r in f.related]) for f in report.findings] == [
        ("value-missing", "文档信息!B10", []),
        ("value-missing", "文档信息!B11", []),
        ("value-missing", "组织职责!E3", [(4, 3)]),
    ]
    assert report.findings[0].message == "服务目录评审日期「2026年8月20日」没有出现在文档中"
    assert report.findings[2].message.startswith("职责「负责Oracle 19c RAC数据库的巡检")


def test_chapter_note_in_the_wrong_chapter(tmp_path):
    note = "二线专家孙国栋常驻公司总部，每月到院现场巡检一次数据库及存储；发生P1故障时由服务项目经理申请，4小时内到达现场。"

    def move(document):
        paragraph(document, "表3\u3000服务周期")._p.addprevious(paragraph(document, note)._p)

    report = verify_document(broken(tmp_path, move), workbook=SAMPLE)
    assert [(f.code, str(f.location)) for f in report.findings] == [("value-misplaced", "补充说明!A2")]
    assert report.findings[0].message.endswith("没有出现在第2章")


def test_a_value_the_document_was_not_built_from(tmp_path):
    workbook = edit_sample(tmp_path, {"服务级别协议!C2": 10, "质量与验收!A5": "归档文档"})
    report = verify_document(SAMPLE_DOCX, workbook=workbook)
    captions = {t.caption.split("\u3000")[-1]: t.number for t in read_document(SAMPLE_DOCX).tables}
    assert [(f.code, str(f.location), [(r.table, r.row) for r in f.related]) for f in report.findings] == [
        ("value-missing", "服务级别协议!C2", [(captions["服务级别协议"], 2)]),
        ("value-missing", "质量与验收!A5", [(captions["验收标准"], 2)]),  # 类型 is shown by the table's caption
    ]
    assert report.findings[0].message == "响应时间(分钟)「10」没有出现在文档中该记录所在的行（表8第2行）"


def test_invalid_workbook_is_one_finding(tmp_path):
    workbook = edit_sample(tmp_path, {"修订记录!C3": None})
    report = verify_document(SAMPLE_DOCX, workbook=workbook)
    assert [(f.code, f.location) for f in report.findings] == [("workbook-invalid", None)]


def test_every_column_has_its_place_in_the_template_context():
    """The context is derived from the contract: each column under its key, each sheet under its own."""
    context = build_context(read_workbook(SAMPLE).document)
    for spec in SHEETS:
        if spec.name in ("notes", "quality"):  # grouped by the column that places them
            continue
        shown = context[spec.key][0] if spec.is_table else context[spec.key]
        assert {c.key for c in spec.columns} <= set(shown), spec.title


def test_a_document_not_made_from_the_template(tmp_path):
    document = docx.Document()
    document.add_heading("会议纪要", 1)
    document.add_paragraph("与会人员：张三、李四。")
    path = tmp_path / "会议纪要.docx"
    document.save(path)
    report = verify_document(path, workbook=SAMPLE)
    assert [(f.code, f.location.part) for f in report.findings] == [("foreign-document", "body")]
    assert not report.passes()


@pytest.mark.parametrize(
    "content, says",
    [
        (b"", "文件是空的"),
        (b"just some text\n", "不是 .docx 文档"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "旧版 .doc"),
        (None, "Excel 工作簿"),
    ],
)
def test_a_file_that_is_not_a_docx(tmp_path, content, says):
    path = tmp_path / "文档.docx"
    path.write_bytes(SAMPLE.read_bytes() if content is None else content)
    with pytest.raises(UnusableDocument) as caught:
        verify_document(path)
    assert isinstance(caught.value, OpsdocError) and caught.value.exit_code == 2
    assert says in caught.value.message


def test_finding_json_carries_the_document_place(tmp_path):
    path = broken(tmp_path, lambda d: remove(paragraph(d, "组织职责")._p))
    finding = verify_document(path).findings[0].as_dict()
    assert finding["part"] == "body" and finding["paragraph"] == number_of(path, "目标和范围")
    assert finding["excerpt"] == "目标和范围" and "sheet" not in finding
    assert Cell("修订记录", "修订记录!C3").as_dict() == {"sheet": "修订记录", "cell": "修订记录!C3"}


def test_runs_split_as_word_splits_them_read_the_same(tmp_path):
    """Word splits runs freely when a document is edited; the text is what counts."""

    def split_runs(document):
        for p in document.paragraphs:
            if len(p.runs) == 1 and len(p.runs[0].text) > 4:
                run = p.runs[0]
                text = run.text
                run.text = text[:3]
                tail = copy.deepcopy(run._r)
                run._r.addnext(tail)
                p.runs[1].text = text[3:]

    assert verify_document(broken(tmp_path, split_runs), workbook=SAMPLE).findings == []


@pytest.fixture(scope="module")
def resaved_by_libreoffice(tmp_path_factory) -> Path:
    """The sample opened and saved again as .docx by another application (LibreOffice)."""
    folder = tmp_path_factory.mktemp("resaved")
    source = folder / "source" / "规范.docx"
    source.parent.mkdir()
    source.write_bytes(SAMPLE_DOCX.read_bytes())
    return convert_with_libreoffice(source, "docx", folder)


def test_a_copy_saved_by_another_application_reports_only_what_it_lost(resaved_by_libreoffice):
    """LibreOffice renames styles' case and rewrites the XML throughout; some builds also drop cp:version.

    Whichever build this is, the copy passes verify on everything else, and a dropped
    version is reported as exactly that.
    """
    report = verify_document(resaved_by_libreoffice, workbook=SAMPLE)
    kept = read_document(resaved_by_libreoffice).version == "V2.0"
    expected = [] if kept else [("version-missing", "文档属性「version」")]
    assert [(f.code, str(f.location)) for f in report.findings] == expected


def test_expectations_come_from_the_template_given(tmp_path):
    template = docx.Document(default_template())
    template.add_paragraph("本规范自发布之日起执行。", style="正文缩进")
    company = tmp_path / "公司模板.docx"
    template.save(company)
    report = verify_document(SAMPLE_DOCX, template=company)
    assert [(f.code, f.location.part, f.message) for f in report.findings] == [
        ("fixed-text-missing", "body", "缺少模板固定文字「本规范自发布之日起执行。」，应在文末")
    ]


def test_an_unreadable_template_is_a_template_error(tmp_path):
    with pytest.raises(TemplateError) as caught:
        verify_document(SAMPLE_DOCX, template=tmp_path / "没有这个模板.docx")
    assert caught.value.exit_code == 2 and "Word 模板无法读取" in caught.value.message


def test_a_copy_that_lost_its_version_property_says_only_that(resaved_by_libreoffice, tmp_path):
    """What a LibreOffice build that drops cp:version on saving gives, made here on any build."""
    import re
    import zipfile

    copy_path = tmp_path / "规范.docx"
    with zipfile.ZipFile(resaved_by_libreoffice) as source, zipfile.ZipFile(copy_path, "w") as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "docProps/core.xml":
                data = re.sub(rb"<cp:version>[^<]*</cp:version>", b"", data)
            target.writestr(entry, data)
    report = verify_document(copy_path, workbook=SAMPLE)
    assert [(f.code, str(f.location)) for f in report.findings] == [("version-missing", "文档属性「version」")]


# ---------------------------------------------------------------- what Word shows, and only that

NAMESPACES = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml"'
)
RT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
COMPLAINTS = "项目中的投诉和满意度由公司统一管理，投诉的具体定义应由服务项目经理与客户沟通商定，达成一致。"


def _hide(paragraph_element) -> None:
    """Format every run, and the paragraph mark, as hidden text, as Word's 字体 › 隐藏 does."""
    for run in paragraph_element.iter(qn("w:r")):
        run.get_or_add_rPr().append(OxmlElement("w:vanish"))
    paragraph_element.get_or_add_pPr().append(parse_xml(f"<w:rPr {NAMESPACES}><w:vanish/></w:rPr>"))


def test_a_fixed_paragraph_kept_only_as_hidden_text(tmp_path):
    edited = COMPLAINTS.replace("公司统一管理", "项目组自行管理")

    def hide_the_original_beside_an_edit(document):
        original = paragraph(document, COMPLAINTS)
        original._p.addprevious(copy.deepcopy(original._p))
        _hide(original._p.getprevious())
        original.runs[0].text = edited

    path = broken(tmp_path, hide_the_original_beside_an_edit)
    report = verify_document(path)
    assert found(report) == [
        ("fixed-text-changed", "body", number_of(path, edited), None, None),
        ("hidden-text", "body", number_of(path, edited) - 1, None, None),
    ]
    assert "隐藏文字「项目中的投诉和满意度由公司统一管理" in report.findings[1].message
    assert read_document(path).body_paragraphs()[number_of(path, edited) - 2].text == ""


def test_hidden_text_switched_off_or_set_by_a_character_style(tmp_path):
    def styles(document):
        hidden = document.styles.add_style("Secret", WD_STYLE_TYPE.CHARACTER)
        hidden.element.get_or_add_rPr().append(OxmlElement("w:vanish"))
        document.styles.add_style("Secret Child", WD_STYLE_TYPE.CHARACTER).base_style = hidden
        target = paragraph(document, COMPLAINTS)
        target.add_run("（内部备注）", style="Secret Child")
        shown = target.add_run("")
        off = OxmlElement("w:vanish")
        off.set(qn("w:val"), "0")
        shown._r.get_or_add_rPr().append(off)

    path = broken(tmp_path, styles)
    assert [(f.code, f.location.excerpt) for f in verify_document(path).findings if f.code != "unknown-style"] == [
        ("hidden-text", "（内部备注）")
    ]
    assert COMPLAINTS in [p.text for p in read_document(path).body_paragraphs()]


def _text_box(text: str, *, drawing: bool) -> str:
    """A run holding a text box: DrawingML with its VML copy in mc:Fallback, or VML alone."""
    box = f"<w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:txbxContent>"
    vml = f"<w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict>"
    if not drawing:
        return f"<w:r {NAMESPACES}>{vml}</w:r>"
    return (
        f'<w:r {NAMESPACES}><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx>{box}'
        f"</wps:txbx></wps:wsp></w:drawing></mc:Choice><mc:Fallback>{vml}</mc:Fallback></mc:AlternateContent></w:r>"
    )


def test_tags_and_placeholders_in_text_boxes_are_found_once(tmp_path):
    def boxes(document):
        paragraph(document, COMPLAINTS)._p.append(parse_xml(_text_box("客户：{{ x }}", drawing=True)))
        document.tables[3].rows[1].cells[3].paragraphs[0]._p.append(parse_xml(_text_box("XXX", drawing=False)))

    path = broken(tmp_path, boxes)
    report = verify_document(path)
    assert found(report) == [
        ("placeholder-text", "body", None, 4, 2),
        ("template-tag", "body", number_of(path, COMPLAINTS), None, None),
    ]
    assert "XXX" in report.findings[0].message and "{{" in report.findings[1].message
    # The box is a paragraph of its own: the anchor's text and its table cell read as before.
    document = read_document(path)
    assert COMPLAINTS in [p.text for p in document.body_paragraphs()]
    assert "XXX" not in document.tables[3].rows[1][3]


def test_content_imported_on_open_is_reported(tmp_path):
    def import_html(document):
        chunk = Part(PackURI("/word/afchunk1.htm"), "text/html", "<p>另一份文件</p>".encode(), document.part.package)
        rel = document.part.relate_to(chunk, RT.A_F_CHUNK)
        target = paragraph(document, COMPLAINTS)._p
        target.addnext(parse_xml(f'<w:altChunk {NAMESPACES} xmlns:r="{RT_NS}" r:id="{rel}"/>'))

    path = broken(tmp_path, import_html)
    report = verify_document(path)
    assert found(report) == [("imported-content", "body", number_of(path, COMPLAINTS), None, None)]
    assert "/word/afchunk1.htm" in report.findings[0].message


def test_a_document_built_from_an_earlier_template_verifies_against_that_template():
    """An issued copy stays checkable after the bundled template moves on (tests/data/earlier-template:
    the template and the sample as built before 项目管理 and the 服务质量管理计划 were added)."""
    earlier = Path(__file__).parent / "data" / "earlier-template"
    built = earlier / "built.docx"
    assert verify_document(built, template=earlier / "运维工作管理规范.docx").findings == []
    moved_on = {f.code for f in verify_document(built).findings}
    assert "fixed-text-missing" in moved_on  # the new template's text is not in it


def _run(text: str, props: str = "") -> str:
    return f"<w:r><w:rPr>{props}</w:rPr><w:t>{text}</w:t></w:r>"


def _row(*cells: str, props: str = "") -> str:
    """A table row of cells given by their paragraphs, or whole (a w:tc, or what stands in its place)."""
    whole = [c if c and not c.startswith("<w:p") else f"<w:tc><w:tcPr/>{c}</w:tc>" for c in cells]
    return f"<w:tr><w:trPr>{props}</w:trPr>{''.join(whole)}</w:tr>"


PLAIN = f"<w:p><w:pPr><w:pStyle w:val='TableText'/></w:pPr>{_run('甲')}{_run('乙')}</w:p>"
HIDDEN, SHOWN = "<w:vanish/>", "<w:vanish w:val='0'/>"
# Rows whose cells are paragraphs of plain runs, read in one pass (True), and one row for each
# way a cell can hold more, read in full (False), each beside plain cells.
ROWS = [
    (True, _row(PLAIN, PLAIN, PLAIN, props="<w:tblHeader/>")),
    (True, _row(PLAIN, PLAIN + PLAIN, "<w:p/>")),
    (True, _row(PLAIN, "<w:p><w:pPr><w:vMerge/><w:gridSpan w:val='2'/></w:pPr></w:p>", PLAIN)),
    (True, _row("<w:tc/>", "<w:tc><w:tcPr><w:vMerge w:val='restart'/></w:tcPr>" + PLAIN + "</w:tc>", PLAIN)),
    (True, _row(PLAIN, "<w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc>", PLAIN)),
    (True, _row("<w:tc><w:tcPr><w:gridSpan w:val='2'/><w:gridSpan w:val='3'/></w:tcPr>" + PLAIN + "</w:tc>", PLAIN)),
    (True, _row(PLAIN, "<w:p><w:pStyle w:val='Heading1'/><w:pPr><w:pStyle/><w:pStyle w:val='x'/></w:pPr></w:p>")),
    (True, _row(PLAIN, "<w:p><w:r><w:t>制</w:t><w:tab/><w:t>表</w:t><w:br/><w:cr/></w:r></w:p>", PLAIN)),
    (False, _row(PLAIN, f"<w:p>{_run('藏', HIDDEN)}{_run('显', SHOWN)}</w:p>", PLAIN)),
    (False, _row(PLAIN, "<w:p>" + _run("样式藏", "<w:rStyle w:val='Secret'/>") + "</w:p>", PLAIN)),
    (False, _row(PLAIN, f"<w:p><w:pPr><w:pStyle w:val='SecretPara'/></w:pPr>{_run('段藏')}{_run('显', SHOWN)}</w:p>")),
    (False, _row(PLAIN, f"<w:p><w:pPr><w:rPr>{HIDDEN}</w:rPr></w:pPr>" + _run("段落标记藏") + "</w:p>", PLAIN)),
    (False, _row(PLAIN, f"<w:p>{_run('锚')}{_text_box('框', drawing=True)}</w:p>")),
    (False, _row(PLAIN, f"<w:p>{_text_box('旧框', drawing=False)}</w:p>", PLAIN)),
    (False, _row(f"<w:sdt><w:sdtContent><w:tc><w:tcPr/>{PLAIN}</w:tc></w:sdtContent></w:sdt>", PLAIN, PLAIN)),
    (False, _row(PLAIN, f"<w:sdt><w:sdtPr/><w:sdtContent>{PLAIN}</w:sdtContent></w:sdt>", PLAIN)),
    (False, _row(PLAIN, f"<w:tbl>{_row(PLAIN, PLAIN)}</w:tbl>{PLAIN}", PLAIN)),
    (False, _row(PLAIN, f"<w:p><w:hyperlink>{_run('链接')}</w:hyperlink><w:ins>{_run('插入')}</w:ins></w:p>")),
    (False, _row(PLAIN, "<w:p><w:del><w:r><w:delText>删</w:delText><w:t>也删</w:t></w:r></w:del></w:p>", PLAIN)),
    (False, _row(PLAIN, "<w:p><w:t>不在运行中</w:t></w:p>", PLAIN)),
    (False, _row(PLAIN, "<w:tc><w:tcPr/><w:r><w:t>格中无段</w:t></w:r></w:tc>", PLAIN)),
    (False, _row(PLAIN, "<w:p><w:r><w:rPr><w:t>属性里</w:t></w:rPr><w:t>外</w:t></w:r></w:p>", PLAIN)),
    (False, _row(PLAIN, "<w:p><w:r><w:t>外<w:t>里</w:t></w:t></w:r></w:p>", PLAIN)),
]


def test_a_register_row_reads_the_same_quickly_and_in_full(tmp_path, monkeypatch):
    """Rows of plain runs are read in one pass; any other row falls back to the full reading, to the same result."""

    def rows_of_every_kind(document):
        secret = document.styles.add_style("Secret", WD_STYLE_TYPE.CHARACTER)
        secret.element.get_or_add_rPr().append(OxmlElement("w:vanish"))
        secret_paragraph = document.styles.add_style("SecretPara", WD_STYLE_TYPE.PARAGRAPH)
        secret_paragraph.element.get_or_add_rPr().append(OxmlElement("w:vanish"))
        rows = "".join(row for _, row in ROWS)
        paragraph(document, COMPLAINTS)._p.addnext(parse_xml(f"<w:tbl {NAMESPACES}><w:tblPr/>{rows}</w:tbl>"))

    path = broken(tmp_path, rows_of_every_kind)
    quick_reading = docx_text._Rows._plain_cells
    answered: dict[int, list[bool]] = {}  # by table number, in the body

    def watched(rows, tr, r):
        cells = quick_reading(rows, tr, r)
        if rows.part == "body":
            answered.setdefault(rows.number, []).append(cells is not None)
        return cells

    monkeypatch.setattr(docx_text._Rows, "_plain_cells", watched)
    quick = read_document(path)
    monkeypatch.setattr(docx_text._Rows, "_plain_cells", lambda rows, tr, r: None)
    full = read_document(path)
    assert quick.body == full.body and quick.headers == full.headers and quick.footers == full.footers
    added = next(t for t in quick.tables if t.caption == COMPLAINTS)
    assert len(added.rows) == len(ROWS) and added.header_rows == 1
    assert answered[added.number] == [quick for quick, _ in ROWS]
