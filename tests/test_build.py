"""Building the controlled .docx from a workbook, end to end."""

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from opsdoc.api import BuildOptions, FileKind, build
from opsdoc.cli import main
from opsdoc.contract.vocabulary import CHAPTERS
from opsdoc.errors import TemplateError
from tests.support import SAMPLE, SAMPLE_DOCX, edit_sample, template_variant

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def paragraphs(path: Path) -> list[str]:
    """Text of every paragraph in body, tables, headers and footers."""
    from lxml import etree

    texts = []
    with zipfile.ZipFile(path) as package:
        for name in package.namelist():
            if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", name):
                root = etree.fromstring(package.read(name))
                for p in root.iter(f"{W}p"):
                    texts.append("".join(t.text or "" for t in p.iter(f"{W}t")))
    return texts


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    result = build(SAMPLE, out)
    assert result.written(FileKind.DOCUMENT).status == "written", result.report.to_text()
    return result.output


def test_output_is_named_for_document_control(built):
    assert built.name == "QT-YW-GF-BH01-001_滨海市第一人民医院信息系统运维服务项目运维工作管理规范_V2.0.docx"


def test_ten_chapters_are_heading_1_in_the_seed_order(built):
    document = docx.Document(built)
    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"] == list(CHAPTERS)
    assert "预算管理" in [p.text for p in document.paragraphs if p.style.name == "Heading 2"]


def test_cover_version_equals_the_last_revision_row(built):
    document = docx.Document(built)
    cover = [p.text for p in document.paragraphs[:12]]
    assert any(re.search(r"版本号：V2\.0", t) for t in cover), cover
    history = next(t for t in document.tables if t.rows[0].cells[0].text == "文件版本")
    assert history.rows[-1].cells[0].text == "V2.0"


def test_revision_table_has_one_row_per_record_with_date_slash_name_cells(built):
    document = docx.Document(built)
    history = next(t for t in document.tables if t.rows[0].cells[0].text == "文件版本")
    header = [c.text for c in history.rows[0].cells]
    assert header == ["文件版本", "修订日期/修订人", "审核日期/审核人", "批准日期/批准人", "修订说明"]
    rows = [[c.text for c in row.cells] for row in history.rows[1:]]
    assert [r[0] for r in rows] == ["V1.0", "V1.1", "V1.2", "V2.0"]
    for row in rows:
        for cell in row[1:4]:
            assert re.fullmatch(r"20\d{6}/\S+", cell), cell
    assert rows[0][1] == "20250310/" + rows[0][1].split("/")[1]


def test_no_tag_or_placeholder_survives(built):
    text = "\n".join(paragraphs(built))
    for residue in ["{{", "}}", "{%", "%}", "{#", "XXX", "Vx.y", "YYYYMMDD", "【", "】", "编制人姓名"]:
        assert residue not in text, residue


def test_header_and_footer_carry_code_title_and_version(built):
    document = docx.Document(built)
    section = document.sections[-1]
    header = "\n".join(p.text for p in section.header.paragraphs)
    footer = "\n".join(p.text for p in section.footer.paragraphs)
    assert "QT-YW-GF-BH01-001" in header and "滨海市第一人民医院信息系统运维服务项目运维工作管理规范" in header
    assert "V2.0" in footer


def test_control_marks_on_the_cover_and_every_page(built):
    document = docx.Document(built)
    section = document.sections[-1]
    footer = "\n".join(p.text for p in section.footer.paragraphs)
    assert "密级：内部\u3000受控状态：受控" in footer
    first_line = document.paragraphs[0]
    stamp = first_line.runs[-1]
    assert (first_line.text, stamp.text) == ("文件编码：QT-YW-GF-BH01-001\t 受控 ", " 受控 ")
    assert stamp._r.find(f"{W}rPr/{W}bdr") is not None  # boxed like a stamp


def test_a_draft_is_never_stamped_controlled(tmp_path):
    path = edit_sample(tmp_path, {"服务目录!A3": "SC-01"})
    draft = build(path, tmp_path / "out", BuildOptions(draft=True)).output
    document = docx.Document(draft)
    assert document.paragraphs[0].runs[-1].text == " 草稿 "
    assert "受控状态：草稿" in "\n".join(p.text for p in document.sections[-1].footer.paragraphs)


def test_dates_inside_sentences_read_as_prose(built):
    text = "\n".join(paragraphs(built))
    assert "已于2026年8月20日与客户评审确认" in text
    assert "最近一次调整日期为2026年8月28日" in text
    assert "20260820" not in text and "20260828" not in text


def test_extended_properties_name_opsdoc_and_keep_no_template_statistics(built):
    from lxml import etree

    with zipfile.ZipFile(built) as package:
        app = etree.fromstring(package.read("docProps/app.xml"))
    values = {etree.QName(e).localname: e.text for e in app}
    assert (values["Application"], values["Company"], values["Manager"]) == (
        "opsdoc",
        "海澜信息技术有限公司运维服务部",
        "吴海燕",
    )
    assert not {"Pages", "Words", "Characters", "AppVersion", "Template"} & set(values)
    titles = [e.text for e in app.iter("{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}lpstr")]
    assert titles[-1] == "滨海市第一人民医院信息系统运维服务项目运维工作管理规范"


def test_font_table_describes_the_chinese_fonts_for_substitution(built):
    from lxml import etree

    with zipfile.ZipFile(built) as package:
        table = etree.fromstring(package.read("word/fontTable.xml"))
    fonts = {f.get(f"{W}name"): f for f in table.iter(f"{W}font")}
    described = {
        name: (fonts[name].find(f"{W}altName").get(f"{W}val"), fonts[name].find(f"{W}charset").get(f"{W}val"))
        for name in ("宋体", "黑体")
    }
    assert described == {"宋体": ("SimSun", "86"), "黑体": ("SimHei", "86")}  # 86: GB2312
    assert not {"ＭＳ 明朝", "ＭＳ ゴシック"} & set(fonts)


def test_core_properties(built):
    properties = docx.Document(built).core_properties
    assert (properties.title, properties.identifier, properties.version) == (
        "滨海市第一人民医院信息系统运维服务项目运维工作管理规范",
        "QT-YW-GF-BH01-001",
        "V2.0",
    )


def test_toc_field_is_marked_to_update_on_open(built):
    with zipfile.ZipFile(built) as package:
        body = package.read("word/document.xml").decode()
        settings = package.read("word/settings.xml").decode()
    assert re.search(r"<w:instrText[^>]*>\s*TOC ", body)
    assert '<w:updateFields w:val="true"/>' in settings


def test_page_is_a4(built):
    section = docx.Document(built).sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)


def test_values_appear_exactly_as_typed(tmp_path):
    typed = "A&B <C> “引号” {{ 7*7 }} {% if x %}"
    path = edit_sample(tmp_path, {"项目背景!B1": typed, "组织职责!F2": "<tel>&1"})
    result = build(path, tmp_path)
    text = paragraphs(result.output)
    assert typed in text and "<tel>&1" in text
    assert "49" not in "".join(t for t in text if "A&B" in t)


def test_multi_line_cells_become_paragraphs(tmp_path):
    path = edit_sample(tmp_path, {"项目背景!B2": "第一个问题。\n第二个问题。"})
    text = paragraphs(build(path, tmp_path).output)
    assert "第一个问题。" in text and "第二个问题。" in text


def test_the_same_workbook_gives_identical_bytes(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = build(SAMPLE, tmp_path / "a").output
    second = build(SAMPLE, tmp_path / "b").output
    assert first.read_bytes() == second.read_bytes()


def test_a_template_with_a_column_loop_renders_through_docxtpls_table_repair(tmp_path):
    """{%tc %} columns take docxtpl's own path (tree, table repair); each document of a process
    starts from its own copy of the template, so a second build gives the same bytes."""
    template = template_variant(  # the 服务周期 table's last three cells: a column loop
        tmp_path,
        ("{{ period.start }}", "{%tc for x in ['甲列', '乙列'] %}"),
        ("{{ period.end }}", "{{ x }}"),
        ("{{ period.note }}", "{%tc endfor %}"),
    )
    first = build(SAMPLE, tmp_path / "a", BuildOptions(template=template)).output
    second = build(SAMPLE, tmp_path / "b", BuildOptions(template=template)).output
    assert {"甲列", "乙列"} <= set(paragraphs(first))
    assert first.read_bytes() == second.read_bytes()


def test_committed_sample_output_is_current(tmp_path):
    fresh = build(SAMPLE, tmp_path).output
    assert fresh.read_bytes() == SAMPLE_DOCX.read_bytes(), "run: opsdoc build samples/*.xlsx -o samples --force"


def test_missing_value_refuses_and_writes_nothing(tmp_path):
    path = edit_sample(tmp_path, {"修订记录!C3": None})
    out = tmp_path / "out"
    out.mkdir()
    result = CliRunner().invoke(main, ["build", str(path), "-o", str(out)])
    assert result.exit_code == 1
    assert "修订记录!C3" in result.output and "missing-value" in result.output
    assert list(out.iterdir()) == []


def test_an_issued_version_is_never_overwritten(tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path)])
    assert first.exit_code == 0, first.output
    issued = next(tmp_path.glob("*.docx"))
    before = issued.read_bytes()
    again = runner.invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path)])
    assert again.exit_code == 0 and "内容相同" in again.output
    changed = edit_sample(tmp_path, {"项目背景!B1": "改写后的建设背景。"}, name="changed.xlsx")
    refused = runner.invoke(main, ["build", str(changed), "-o", str(tmp_path)])
    assert refused.exit_code == 3 and "已发布的版本" in refused.output
    assert issued.read_bytes() == before
    forced = runner.invoke(main, ["build", str(changed), "-o", str(tmp_path), "--force"])
    assert forced.exit_code == 0 and issued.read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_draft_of_an_unfinished_workbook_marks_what_is_missing(tmp_path):
    path = edit_sample(
        tmp_path, {"修订记录!E3": None, "预算!C2": "待定", "文档信息!B6": None}, delete_sheets=["合同指标"]
    )
    result = CliRunner().invoke(main, ["build", str(path), "-o", str(tmp_path / "out"), "--draft"])
    assert result.exit_code == 0, result.output
    assert "修订记录!E3" in result.output and "missing-sheet" in result.output  # the findings are still shown
    (draft,) = (tmp_path / "out").glob("*_草稿.docx")
    document = docx.Document(draft)
    history = next(t for t in document.tables if t.rows[0].cells[0].text == "文件版本")
    assert history.rows[2].cells[2].text == "20250904/〔待填写〕"  # V1.1's 审核人
    budget = next(t for t in document.tables if t.rows[0].cells[0].text == "预算项")
    assert (
        budget.rows[1].cells[2].text == "〔待填写〕" and budget.rows[-1].cells[2].text == "〔待填写〕"
    )  # and the total
    text = "\n".join(paragraphs(draft))
    assert "运维服务部门经理〔待填写〕负责组建" in text
    metrics = next(t for t in document.tables if t.rows[0].cells[0].text == "指标")
    assert [c.text for c in metrics.rows[1].cells[:2]] == ["〔待填写〕", "〔待填写〕"]


def test_a_draft_never_passes_verify(tmp_path):
    from opsdoc.qa.verify import verify_document

    path = edit_sample(tmp_path, {"修订记录!E3": None})
    draft = build(path, tmp_path / "out", BuildOptions(draft=True)).output
    assert "placeholder-text" in {f.code for f in verify_document(draft).findings}


def test_draft_builds_despite_rule_errors_and_is_marked(tmp_path):
    path = edit_sample(tmp_path, {"服务目录!A3": "SC-01"})
    result = CliRunner().invoke(main, ["build", str(path), "-o", str(tmp_path), "--draft"])
    assert result.exit_code == 0, result.output
    (draft,) = tmp_path.glob("*.docx")
    assert draft.name.endswith("_V2.0_草稿.docx")
    header = "\n".join(p.text for p in docx.Document(draft).sections[-1].header.paragraphs)
    assert "草稿（未通过检查）" in header


def test_a_total_row_keeps_its_records_with_it(built):
    document = docx.Document(built)
    for first_header in ("预算项", "考核指标"):
        table = next(t for t in document.tables if t.rows[0].cells[0].text == first_header)
        assert table.rows[-1].cells[0].text == "合计"
        keeping = [
            all(p.paragraph_format.keep_with_next for c in row.cells for p in c.paragraphs) for row in table.rows
        ]
        assert keeping[1:] == [False] * (len(table.rows) - 3) + [True, False]  # only the last record


def test_cover_signs_off_with_the_last_revision(built):
    document = docx.Document(built)
    cover = document.tables[0]
    rows = [[c.text for c in row.cells] for row in cover.rows]
    assert rows == [
        ["编制：", "周建峰", "2026年8月31日"],
        ["审核：", "吴海燕", "2026年9月3日"],
        ["批准：", "陈立群", "2026年9月7日"],
    ]
    history = next(t for t in document.tables if t.rows[0].cells[0].text == "文件版本")
    last = [c.text for c in history.rows[-1].cells]
    assert [last[1], last[2], last[3]] == ["20260831/周建峰", "20260903/吴海燕", "20260907/陈立群"]
    lines = {row.cells[0].text: row.cells[1].text for row in document.tables[1].rows}
    assert lines["发布日期："] == "2026年9月7日"  # the last 批准日期
    assert lines["实施日期："] == "2026年9月15日"  # 生效日期
    assert "海澜信息技术有限公司运维服务部" in [p.text for p in document.paragraphs[:12]]


def test_no_eight_digit_date_outside_the_version_history(built):
    document = docx.Document(built)
    history = next(t for t in document.tables if t.rows[0].cells[0].text == "文件版本")
    outside = [p.text for p in document.paragraphs]
    for table in document.tables:
        if table._tbl is not history._tbl:
            outside += [cell.text for row in table.rows for cell in row.cells]
    outside += [p.text for s in document.sections for p in [*s.header.paragraphs, *s.footer.paragraphs]]
    assert [t for t in outside if re.search(r"\b\d{8}\b", t)] == []
    assert "合同期限" in outside and "2026年4月1日至2028年3月31日" in outside, outside
    assert all(re.fullmatch(r"20\d{6}/\S+", c.text) for c in history.rows[1].cells[1:4])


def test_tables_carry_numbered_captions_in_order(built):
    captions = [p.text for p in docx.Document(built).paragraphs if p.style.name == "表格题注"]
    assert [c.split("\u3000")[0] for c in captions] == [f"表{n}" for n in range(1, len(captions) + 1)]
    assert {"表1\u3000服务项目团队成员及职责", "表11\u3000验收标准", "表12\u3000归档文档"} <= set(captions)
    assert "验收标准：" not in paragraphs(built) and "服务周期：" not in paragraphs(built)


def test_duties_are_bulleted_and_measures_numbered(built):
    document = docx.Document(built)
    team = next(t for t in document.tables if t.rows[0].cells[0].text == "姓名")
    duties = [p.text for p in team.rows[1].cells[4].paragraphs]
    assert len(duties) == 3 and all(d.startswith("•\u00a0负责") or d.startswith("•\u00a0组织") for d in duties)
    risks = next(t for t in document.tables if t.rows[0].cells[0].text == "风险\n编号")
    measures = [p.text for p in risks.rows[1].cells[6].paragraphs]
    assert [m.split("\u00a0")[0] for m in measures] == ["1.", "2.", "3."]


def test_risk_scores_are_explained_under_the_table(built):
    text = "\n".join(paragraphs(built))
    assert "可能性按1（极小）至5（基本确定）评分，影响按1（轻微）至5（严重）评分" in text
    assert "1～3为低，4～8为一般，9～16为较大，20～25为重大" in text  # as workbook-contract.md


def test_risk_bands_follow_the_company_conventions():
    from opsdoc.contract.conventions import Conventions, RiskLevels
    from opsdoc.generate.context import build_context
    from opsdoc.workbook.reader import read_workbook

    document = read_workbook(SAMPLE).document
    levels = RiskLevels.model_validate({"一般": 5, "较大": 10, "重大": 25})
    bands = build_context(document, Conventions(risk_levels=levels))["risk_bands"]
    assert bands == "1～4为低，5～9为一般，10～20为较大，25为重大"


def test_the_team_sentence_adds_up(built):
    sentence = next(t for t in paragraphs(built) if t.startswith("本项目服务团队由"))
    managers, engineers, total = map(
        int, re.search(r"服务项目经理(\d+)名.*服务项目工程师(\d+)名，团队共(\d+)人", sentence).groups()
    )
    table = next(t for t in docx.Document(built).tables if t.rows[0].cells[0].text == "姓名")
    roles = [row.cells[1].text for row in table.rows[1:]]
    assert (managers, engineers, total) == (roles.count("服务项目经理"), roles.count("服务项目工程师"), len(roles))
    assert "其他" not in roles
    assert not any("服务方式为" in t for t in paragraphs(built))  # not "服务方式为驻场服务为主"


def test_the_projects_own_definitions_stand_after_the_seed_sentences_that_ask_for_them(built):
    text = paragraphs(built)
    lead = text.index("本项目的流程特例如下，均已纳入公司IT服务管理体系统一管理：")
    assert text[lead + 1].startswith("1．变更管理：") and text[lead + 2].startswith("2．事件管理：")
    complaint = text.index(
        "项目中的投诉和满意度由公司统一管理，投诉的具体定义应由服务项目经理与客户沟通商定，达成一致。"
    )
    assert text[complaint + 1].startswith("本项目的有效投诉是指")
    assert any(t.startswith("绩效考核由运维服务部门经理吴海燕组织") for t in text)
    assert [t for t in text if t in ("质量保障措施", "改进计划")] == ["质量保障措施", "质量保障措施", "改进计划"]


def test_a_project_without_process_exceptions_says_so(tmp_path):
    workbook = edit_sample(tmp_path, {"项目管理!B1": None})
    text = paragraphs(build(workbook, tmp_path / "out").output)
    assert "本项目没有流程特例，服务流程均按公司IT服务管理体系相关管理程序执行。" in text
    assert not any(t.startswith("1．变更管理") for t in text)


START = """
import os, sys
from opsdoc.cli import main
try:
    main(["build", sys.argv[1], "-o", sys.argv[2]])
except SystemExit as exit:
    print(exit.code, repr(os.environ.get("PYDANTIC_DISABLE_PLUGINS")), "asyncio" in sys.modules)
"""


@pytest.mark.parametrize(("given", "seen"), [(None, "__all__"), ("", ""), ("logfire", "logfire")])
def test_a_build_starts_light_and_keeps_the_users_plugin_setting(tmp_path: Path, given: str | None, seen: str) -> None:
    """What docs/performance.md counts on for the start-up: no asyncio (typing_extensions ≥ 4.16),
    pydantic plugins off unless the user says otherwise, as docs/cli.md documents."""
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if given is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = given
    command = [sys.executable, "-c", START, str(SAMPLE), str(tmp_path)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert run.stdout.splitlines()[-1] == f"0 {seen!r} False"


def test_a_refusal_gives_the_advice_that_fits_what_the_file_is(tmp_path):
    """Not 已发布的版本/请提升版本号 for a build's own earlier output or an annotated copy."""
    runner = CliRunner()
    workbook = edit_sample(tmp_path, {"项目背景!B1": "第一次生成时的背景。"})
    assert runner.invoke(main, ["build", str(workbook), "-o", str(tmp_path / "out")]).exit_code == 0
    again = edit_sample(tmp_path, {"项目背景!B1": "改过之后的背景。"})
    refused = runner.invoke(main, ["build", str(again), "-o", str(tmp_path / "out")])
    assert refused.exit_code == 3 and "先不带 --pdf 生成过，或工作簿又改过" in refused.output
    broken = edit_sample(tmp_path, {"修订记录!C3": None}, name="有错.xlsx")
    copy = tmp_path / "标注.xlsx"
    copy.write_bytes(b"an earlier copy")
    checked = runner.invoke(main, ["check", str(broken), "--annotate", str(copy)])
    assert checked.exit_code == 3
    assert "修订记录!C3" in checked.output  # the findings are printed before the copy is refused
    assert "已有标注副本" in checked.output and "提升版本号" not in checked.output


def test_the_cyclic_collector_runs_again_after_a_build(tmp_path):
    """A build holds Python's collector off while it reads and renders; the web server and batch
    workers, which build one workbook after another, must find it running afterwards."""
    import gc

    assert gc.isenabled()
    build(SAMPLE, tmp_path / "on")
    assert gc.isenabled()
    with pytest.raises(TemplateError):  # stopped halfway
        build(SAMPLE, tmp_path / "bad", BuildOptions(template=tmp_path / "missing.docx"))
    assert gc.isenabled()
    gc.disable()  # a caller's own choice is left as it was
    try:
        build(SAMPLE, tmp_path / "off")
        assert not gc.isenabled()
    finally:
        gc.enable()
