"""Build the bundled Word template word_templates/运维工作管理规范.docx.

This script is the source of the bundled template: run
``python word_templates/build_template.py`` to regenerate it. A company may
instead open the .docx in Word or LibreOffice and edit it there, as long as the
docxtpl tags ({{ … }}, {%p … %}, {%tr … %}) keep the names of the render
context. Needs python-docx and lxml only.
"""

import datetime
import io
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Pt, RGBColor, Twips
from lxml import etree

from opsdoc.contract.vocabulary import CHAPTERS, DOCUMENT_KIND
from opsdoc.office.output import deterministic_zip

OUTPUT = Path(__file__).resolve().parent / "运维工作管理规范.docx"

# A4 with the company's margins (2.54 cm top/bottom, 3.17 cm left/right), in twips.
PAGE_W, PAGE_H = 11906, 16838
MARGIN_TB, MARGIN_LR = 1440, 1797
TEXT_W = PAGE_W - 2 * MARGIN_LR

LATIN, SONG, HEI = "Times New Roman", "宋体", "黑体"

# Paragraph style names as Word shows them (define_styles gives them ASCII style ids).
BODY, TABLE_TEXT, TABLE_HEAD = "正文缩进", "表格文字", "表格表头"
TABLE_LIST, TABLE_CAPTION = "表格列项", "表格题注"
NUMBERED = "编号列项"
PAGE_TITLE, COVER_TITLE, COVER_TEXT = "页标题", "封面标题", "封面文字"
TOC1, TOC2 = "toc 1", "toc 2"  # Word's own (lower-case) names of TOC 1 / TOC 2

L, C, R = WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT
HEADER_FILL = "D9D9D9"
FIXED_TIME = datetime.datetime(2025, 1, 1)


# ---------------------------------------------------------------- XML helpers


def w(tag, **attrs):
    """A bare <w:tag w:attr="…"/> element."""
    el = OxmlElement("w:" + tag)
    for key, value in attrs.items():
        el.set(qn("w:" + key), str(value))
    return el


def fonts(east_asia):
    # Word and LibreOffice take Chinese glyphs from w:eastAsia only, which
    # python-docx never writes; theme fonts would override these, so none are used.
    return f'<w:rFonts w:ascii="{LATIN}" w:hAnsi="{LATIN}" w:eastAsia="{east_asia}" w:cs="{LATIN}"/>'


def size(points):
    half = round(points * 2)
    return f'<w:sz w:val="{half}"/><w:szCs w:val="{half}"/>'


def props(tag, inner):
    return parse_xml(f"<w:{tag} {nsdecls('w')}>{inner}</w:{tag}>")


def restyle(style, ppr="", rpr=""):
    """Replace a style's paragraph and run properties by the given WordprocessingML."""
    el = style.element
    for old in el.findall(qn("w:pPr")) + el.findall(qn("w:rPr")):
        el.remove(old)
    if ppr:
        el.append(props("pPr", ppr))
    if rpr:
        el.append(props("rPr", rpr))


# ---------------------------------------------------------------- styles, numbering, page


def define_styles(document):
    styles = document.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    for old in list(defaults):
        defaults.remove(old)
    defaults.append(
        props(
            "rPrDefault",
            "<w:rPr>" + fonts(SONG) + size(10.5) + '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr>',
        )
    )
    defaults.append(props("pPrDefault", '<w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'))

    restyle(
        styles["Normal"],
        '<w:spacing w:after="0" w:line="360" w:lineRule="auto"/><w:jc w:val="both"/>',
        fonts(SONG) + size(10.5),
    )

    def add(name, style_id, ppr, rpr="", based_on="Normal", builtin=False):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH, builtin=builtin)
        style.style_id = style_id
        style.base_style = styles[based_on]
        style.quick_style = not builtin
        restyle(style, ppr, rpr)
        return style

    body = add(BODY, "BodyIndent", '<w:ind w:firstLineChars="200" w:firstLine="420"/>')
    body.next_paragraph_style = body
    # Table cells: no first-line indent, single spacing, smaller type.
    add(
        TABLE_TEXT,
        "TableText",
        '<w:spacing w:before="20" w:after="20" w:line="240" w:lineRule="auto"/>'
        '<w:ind w:firstLine="0" w:firstLineChars="0"/><w:jc w:val="left"/>',
        size(9),
    )
    # A list in a cell (duties, measures): each item hangs after its bullet or number.
    add(TABLE_LIST, "TableList", '<w:ind w:left="200" w:hanging="200"/>', based_on=TABLE_TEXT)
    # 1． 2． … in running text: the number stands where a body line starts, the item's lines align after it.
    add(NUMBERED, "NumberedItem", '<w:ind w:left="840" w:hanging="420"/>')
    # 表1 … above each data table, kept with it.
    add(
        TABLE_CAPTION,
        "TableCaption",
        '<w:keepNext/><w:spacing w:before="120" w:after="60" w:line="240" w:lineRule="auto"/>'
        '<w:ind w:firstLine="0" w:firstLineChars="0"/><w:jc w:val="center"/>',
        fonts(HEI) + size(10.5),
    )
    add(TABLE_HEAD, "TableHeading", '<w:keepNext/><w:jc w:val="center"/>', "<w:b/><w:bCs/>", based_on=TABLE_TEXT)
    # Titles of the unnumbered front pages: each starts a page and stays out of the TOC.
    add(
        PAGE_TITLE,
        "PageTitle",
        '<w:keepNext/><w:pageBreakBefore/><w:spacing w:after="240"/><w:jc w:val="center"/>',
        fonts(HEI) + "<w:b/><w:bCs/>" + size(16),
    )
    # 二号 (22 pt) and reaching 0.75 cm into each margin: a project name of up to 20
    # characters stays on its own line above 运维工作管理规范.
    add(
        COVER_TITLE,
        "CoverTitle",
        '<w:spacing w:before="2200" w:after="480" w:line="240" w:lineRule="auto"/>'
        '<w:ind w:left="-425" w:right="-425"/><w:jc w:val="center"/>',
        fonts(HEI) + "<w:b/><w:bCs/>" + size(22),
    )
    add(COVER_TEXT, "CoverText", '<w:jc w:val="left"/>', size(14))

    dot_tab = f'<w:tabs><w:tab w:val="right" w:leader="dot" w:pos="{TEXT_W}"/></w:tabs>'
    for name, level in ((TOC1, 1), (TOC2, 2)):
        toc = add(name, f"TOC{level}", dot_tab + f'<w:ind w:left="{(level - 1) * 420}"/>', builtin=True)
        toc.priority = 39
        toc.unhide_when_used = True

    # Header: file code left, title right. Footer: version left, control marks centred, page right.
    right_tab = f'<w:tab w:val="right" w:pos="{TEXT_W}"/>'
    centre_tab = f'<w:tab w:val="center" w:pos="{TEXT_W // 2}"/>'
    single = '<w:spacing w:line="240" w:lineRule="auto"/>'
    restyle(styles["Header"], f"<w:tabs>{right_tab}</w:tabs>" + single, size(9))
    restyle(styles["Footer"], f"<w:tabs>{centre_tab}{right_tab}</w:tabs>" + single, size(9))


def define_headings(document):
    """Heading 1/2/3 in 黑体, numbered 1 / 1.1 / 1.1.1 by a multilevel list linked to the styles;
    the deeper headings, Title and Subtitle in 黑体 too, so no level a user picks in Word comes
    out in the Word 2010 theme (blue Cambria)."""
    num_id = heading_numbering(document)
    looks = {}  # style name → run properties, for the style and its linked "… Char" style
    for level, points, before, after in ((0, 16, 360, 240), (1, 14, 240, 120), (2, 12, 120, 60)):
        name = f"Heading {level + 1}"
        looks[name] = fonts(HEI) + "<w:b/><w:bCs/>" + size(points)
        document.styles[name].next_paragraph_style = document.styles[BODY]
        restyle(
            document.styles[name],
            "<w:keepNext/><w:keepLines/>"
            f'<w:numPr><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>'
            f'<w:spacing w:before="{before}" w:after="{after}"/>'
            '<w:ind w:left="0" w:firstLine="0"/><w:jc w:val="left"/>'
            f'<w:outlineLvl w:val="{level}"/>',
            looks[name],
        )
    deeper = {f"Heading {n}": (f'<w:outlineLvl w:val="{n - 1}"/>', 10.5) for n in range(4, 10)}
    for name, (outline, points) in {**deeper, "Title": ("", 16), "Subtitle": ("", 14)}.items():
        looks[name] = fonts(HEI) + "<w:b/><w:bCs/>" + size(points)
        restyle(
            document.styles[name],
            f'<w:keepNext/><w:keepLines/><w:spacing w:before="120" w:after="60"/>{outline}',
            looks[name],
        )
    defined = {style.name for style in document.styles}
    for name, rpr in looks.items():
        if f"{name} Char" in defined:
            restyle(document.styles[f"{name} Char"], rpr=rpr)


def heading_numbering(document):
    numbering = document.part.numbering_part.element
    ids = [int(a.get(qn("w:abstractNumId"))) for a in numbering.findall(qn("w:abstractNum"))]
    abstract_id = max(ids, default=-1) + 1
    levels = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
        f'<w:pStyle w:val="Heading{i + 1}"/><w:suff w:val="space"/>'
        f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/>'
        '<w:pPr><w:ind w:left="0" w:firstLine="0"/></w:pPr></w:lvl>'
        for i, text in enumerate(("%1", "%1.%2", "%1.%2.%3"))
    )
    abstract = parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">'
        f'<w:multiLevelType w:val="multilevel"/>{levels}</w:abstractNum>'
    )
    # Every w:abstractNum must precede the first w:num.
    numbering.find(qn("w:num")).addprevious(abstract)
    return numbering.add_num(abstract_id).numId


def setup_page(section):
    section.page_width, section.page_height = Twips(PAGE_W), Twips(PAGE_H)
    section.top_margin = section.bottom_margin = Twips(MARGIN_TB)
    section.left_margin = section.right_margin = Twips(MARGIN_LR)
    section.header_distance, section.footer_distance = Twips(851), Twips(992)


def setup_settings(document):
    settings = document.settings.element
    # Ask Word to refresh the TOC (and page fields) when the document is opened;
    # w:updateFields must come before w:compat in settings.xml.
    settings.find(qn("w:compat")).addprevious(w("updateFields", val="true"))
    settings.find(qn("w:themeFontLang")).set(qn("w:eastAsia"), "zh-CN")


def setup_properties(document):
    core = document.core_properties
    core.title, core.author, core.comments, core.last_modified_by = "运维工作管理规范", "", "", ""
    core.created = core.modified = FIXED_TIME
    # The stock thumbnail shows python-docx's blank page, not this document.
    package_rels = document.part.package.rels
    for rel_id in [k for k, rel in package_rels.items() if rel.reltype == RT.THUMBNAIL]:
        del package_rels[rel_id]


# The fonts the styles name, as Word itself describes them in fontTable.xml: on a machine
# without 宋体/黑体 (a Mac, Linux, an English Windows) Word and WPS pick a stand-in from the
# altName, the GB2312 character set (86) and the PANOSE class, so Chinese text still gets a
# Song (serif) and a Hei (sans) face instead of whatever the first fallback is. The stock
# table's Japanese faces (ＭＳ 明朝, ＭＳ ゴシック) are used by no style here.
FONT_TABLE = {
    SONG: ("SimSun", "02010600030101010101", "auto", "variable", "00000003", "288F0000"),
    HEI: ("SimHei", "02010609060101010101", "modern", "fixed", "800002BF", "38CF7CFA"),
}
UNUSED_FONTS = ("ＭＳ 明朝", "ＭＳ ゴシック")


def setup_font_table(document):
    part = next(p for p in document.part.package.parts if p.partname == "/word/fontTable.xml")
    table = parse_xml(part.blob)
    for font in table.findall(qn("w:font")):
        if font.get(qn("w:name")) in UNUSED_FONTS:
            table.remove(font)
    for name, (alt, panose, family, pitch, usb0, usb1) in FONT_TABLE.items():
        table.append(
            parse_xml(
                f'<w:font {nsdecls("w")} w:name="{name}"><w:altName w:val="{alt}"/>'
                f'<w:panose1 w:val="{panose}"/><w:charset w:val="86"/><w:family w:val="{family}"/>'
                f'<w:pitch w:val="{pitch}"/><w:sig w:usb0="{usb0}" w:usb1="{usb1}" w:usb2="00000016" '
                'w:usb3="00000000" w:csb0="00040001" w:csb1="00000000"/></w:font>'
            )
        )
    part._blob = etree.tostring(table, xml_declaration=True, encoding="UTF-8", standalone=True)


# ---------------------------------------------------------------- content helpers


def para(container, text="", style=BODY):
    """A paragraph with its text in ONE run, so Word never splits a {{ tag }}."""
    p = container.add_paragraph(style=style)
    if text:
        p.add_run(text)
    return p


def lines(container, expr, style=BODY, shown="{{ line }}"):
    """One paragraph per item of a [lines] list (returned, to be formatted); docxtpl drops the tag paragraphs."""
    para(container, f"{{%p for line in {expr} %}}", style)
    item = para(container, shown, style)
    para(container, "{%p endfor %}", style)
    return item


def numbered_lines(container, expr):
    """One numbered paragraph (1． 2． …) per item of a [lines] list."""
    lines(container, expr, NUMBERED, "{{ loop.index }}．{{ line }}")


def cell_lines(expr, shown="{{ line }}"):
    # The else branch keeps one empty paragraph: a table cell without any is invalid.
    return [f"{{%p for line in {expr} %}}", shown, "{%p else %}", "", "{%p endfor %}"]


def cell_bullets(expr):
    """One bulleted paragraph per line: a list of duties reads as separate duties."""
    return (TABLE_LIST, cell_lines(expr, "•\u00a0{{ line }}"))


def cell_numbered(expr):
    """One numbered paragraph per line: 1. 2. … as the measures are referred to."""
    return (TABLE_LIST, cell_lines(expr, "{{ loop.index }}.\u00a0{{ line }}"))


TABLE_NUMBER = iter(range(1, 100))


def caption(document, title):
    """表N and the table's title above it; N counts the body's data tables in order."""
    return para(document, f"表{next(TABLE_NUMBER)}\u3000{title}", TABLE_CAPTION)


def loop(var, seq, cells):
    """Three table rows: docxtpl repeats the middle one for each item of seq."""
    return [[f"{{%tr for {var} in {seq} %}}"], cells, ["{%tr endfor %}"]]


def field_begin(paragraph, code):
    """Open a complex field: begin, instruction, separate; its stored result follows."""
    paragraph.add_run()._r.append(w("fldChar", fldCharType="begin"))
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {code} "
    paragraph.add_run()._r.append(instr)
    paragraph.add_run()._r.append(w("fldChar", fldCharType="separate"))


def field_end(paragraph):
    paragraph.add_run()._r.append(w("fldChar", fldCharType="end"))


def add_field(paragraph, code, shown):
    """A one-paragraph field (PAGE, NUMPAGES) with `shown` as its stored result."""
    field_begin(paragraph, code)
    paragraph.add_run(shown)
    field_end(paragraph)


def shade(cell):
    # w:shd must precede w:vAlign, which python-docx adds later.
    cell._tc.get_or_add_tcPr().append(w("shd", val="clear", color="auto", fill=HEADER_FILL))


def fill_cell(cell, content, style, align=None):
    if isinstance(content, tuple):  # (paragraph style, content) from cell_bullets / cell_numbered
        style, content = content
    texts = [content] if isinstance(content, str) else content
    for i, text in enumerate(texts):
        p = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
        p.style = style
        if text:
            p.add_run(text)
        if align is not None:
            p.alignment = align
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def new_table(document, weights, width=TEXT_W, style="Table Grid"):
    """An empty fixed-layout table whose column widths are `weights` scaled to `width`."""
    widths = [round(width * wt / sum(weights)) for wt in weights]
    widths[-1] += width - sum(widths)
    table = document.add_table(rows=0, cols=len(weights))
    if style:
        table.style = document.styles[style]
    # Fixed layout with explicit widths, so Word and LibreOffice lay it out alike.
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    tbl_w = tbl_pr.find(qn("w:tblW"))
    tbl_w.set(qn("w:w"), str(width))
    tbl_w.set(qn("w:type"), "dxa")
    margins = w("tblCellMar")
    for side in ("left", "right"):
        margins.append(w(side, w=57, type="dxa"))
    tbl_pr.find(qn("w:tblLayout")).addnext(margins)
    for column, twips in zip(table.columns, widths, strict=False):
        column.width = Twips(twips)
    return table


def add_table(document, columns, rows):
    """A data table: shaded bold header row repeated on each page, then `rows`.

    columns: [(title, width weight, alignment)]; a row lists cell contents, each
    a str (one paragraph) or a list of str; short rows (tag rows) are padded.
    """
    table = new_table(document, [weight for _, weight, _ in columns])
    header = table.add_row()
    header._tr.get_or_add_trPr().append(w("tblHeader"))
    for cell, (title, _, _) in zip(header.cells, columns, strict=False):
        shade(cell)
        fill_cell(cell, title.split("\n"), TABLE_HEAD)
    for contents in rows:
        contents = list(contents) + [""] * (len(columns) - len(contents))
        row = table.add_row()
        row._tr.get_or_add_trPr().append(w("cantSplit"))  # a record stays on one page
        for cell, content, (_, _, align) in zip(row.cells, contents, columns, strict=False):
            fill_cell(cell, content, TABLE_TEXT, align)
    return table


def loop_to_total(var, seq, cells):
    """The rows of `loop`, the last item in a loop of its own: total_row keeps that one
    record with the 合计 row below it."""
    return [*loop(var, f"{seq}[:-1]", cells), *loop(var, f"{seq}[-1:]", cells)]


def total_row(table):
    """Make the label of the last (static 合计) row bold like the header, and keep the last
    record (from loop_to_total) with it: a 合计 alone at the top of a page, under the
    repeated header, says nothing."""
    for p in table.rows[-1].cells[0].paragraphs:
        p.style = TABLE_HEAD
    last_record = table.rows[-3]  # before it: its loop's endfor row, then the 合计 row
    for cell in last_record.cells:
        for p in cell.paragraphs:
            p.paragraph_format.keep_with_next = True


def key_value_table(document, pairs):
    table = new_table(document, [25, 75])
    for label, value in pairs:
        row = table.add_row()
        row._tr.get_or_add_trPr().append(w("cantSplit"))  # a label and its value stay on one page
        label_cell, value_cell = row.cells
        shade(label_cell)
        fill_cell(label_cell, label, TABLE_HEAD)
        # Labels look like a header but are rows: kept with the next, the whole table and what
        # follows it would move to a new page together.
        label_cell.paragraphs[0].paragraph_format.keep_with_next = False
        fill_cell(value_cell, value, TABLE_TEXT)
    return table


def after_table(paragraph):
    """Separate a paragraph from the table just above it."""
    paragraph.paragraph_format.space_before = Pt(6)
    return paragraph


def heading(document, text, level):
    return document.add_paragraph(text, style=f"Heading {level}")


# ---------------------------------------------------------------- header and footer


def header_footer(section):
    section.different_first_page_header_footer = True
    # The cover keeps an empty first-page header/footer, except for the draft mark.
    first_header = section.first_page_header
    first_header.is_linked_to_previous = False
    draft_mark(first_header)
    para(first_header, "", "Header")  # a header part needs a paragraph even when not draft
    section.first_page_footer.is_linked_to_previous = False

    header = section.header
    header.is_linked_to_previous = False
    draft_mark(header)
    # On one line whatever the title's length: the size (and, past 6.5 pt, the title) fitted to it.
    line = para(header, "{{ doc.file_code }}\t{{ layout.header_title }}", "Header")
    for run in line.runs:
        fitted_size(run, "header_size")
    borders = w("pBdr")
    borders.append(w("bottom", val="single", sz=6, space=1, color="auto"))
    line._p.get_or_add_pPr().append(borders)

    page_footer(section)  # the cover never shows it: its one page has the first-page footer


def page_footer(section, *, total=False):
    """The section's own footer: the control marks on every page, so that a single printed
    sheet still says what it is, and the page number in the section's own format.

    With `total`, 第 N 页 共 M 页: M is SECTIONPAGES, the pages of this section (the body from
    chapter 1 on), which Word computes; LibreOffice does not, so the PDF export counts them and
    writes the number into the field's result (opsdoc.generate.pdf). Its stored result here is
    "—" until then."""
    footer = section.footer
    footer.is_linked_to_previous = False
    p = footer.paragraphs[0]
    p.add_run(f"版本号：{{{{ doc.version }}}}\t密级：{{{{ doc.secrecy }}}}\u3000受控状态：{CONTROL_MARK}\t第 ")
    add_field(p, "PAGE", "1")
    if total:
        p.add_run(" 页 共 ")
        add_field(p, "SECTIONPAGES", "—")
    p.add_run(" 页")


def new_section(document, number_format):
    """Start a section on a new page whose page numbers restart at 1 in `number_format`
    (lowerRoman for the front matter, decimal for the body). It shows the running header,
    not the cover's empty first-page one."""
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.different_first_page_header_footer = False
    sect_pr = section._sectPr
    for old in sect_pr.findall(qn("w:pgNumType")):
        sect_pr.remove(old)
    # w:pgNumType goes before w:cols in a w:sectPr.
    sect_pr.find(qn("w:cols")).addprevious(w("pgNumType", fmt=number_format, start=1))
    return section


def draft_mark(header):
    """草稿（未通过检查） in red on its own header line, only when doc.draft."""
    header.paragraphs[0].add_run("{%p if doc.draft %}")
    mark = para(header, "", "Header")
    mark.alignment = C
    run = mark.add_run("草稿（未通过检查）")
    run.bold = True
    run.font.color.rgb = RGBColor(0xC0, 0, 0)
    para(header, "{%p endif %}", "Header")


# ---------------------------------------------------------------- front pages


# A draft has not been issued, so it is never marked 受控 (nor 非受控: it is no copy at all).
CONTROL_MARK = "{% if doc.draft %}草稿{% else %}{{ doc.control_status }}{% endif %}"


def control_stamp(paragraph):
    """The cover's stamp: the control status in a red box at the right edge of the first line."""
    paragraph.paragraph_format.tab_stops.add_tab_stop(Twips(TEXT_W), WD_TAB_ALIGNMENT.RIGHT)
    paragraph.add_run("\t")
    stamp = paragraph.add_run(f" {CONTROL_MARK} ")
    stamp.bold = True
    stamp.font.color.rgb = RGBColor(0xC0, 0, 0)
    stamp._r.get_or_add_rPr().append(w("bdr", val="single", sz=12, space=0, color="C00000"))


def cover_lines(document, rows, weights):
    """A borderless table on the cover: each row a label and its values, each value on a writing line."""
    table = new_table(document, weights, width=TEXT_W * 4 // 5, style=None)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, *values in rows:
        row = table.add_row()
        row._tr.get_or_add_trPr().append(w("cantSplit"))
        label_cell, *value_cells = row.cells
        fill_cell(label_cell, label + "：", COVER_TEXT, R)
        for cell, value in zip(value_cells, values, strict=True):
            fill_cell(cell, value, COVER_TEXT, C)
            borders = w("tcBorders")
            borders.append(w("bottom", val="single", sz=4, space=0, color="auto"))
            cell._tc.get_or_add_tcPr().find(qn("w:tcW")).addnext(borders)
    return table


def fitted_spacing(paragraph, side, tag):
    """The paragraph's space before or after, in twips, from the context (opsdoc.generate.fitting)."""
    spacing = w("spacing")
    spacing.set(qn(f"w:{side}"), "{{ layout." + tag + " }}")
    paragraph._p.get_or_add_pPr().append(spacing)


def fitted_size(run, tag):
    """The run's size, in half-points, from the context."""
    properties = run._r.get_or_add_rPr()
    for name in ("sz", "szCs"):
        properties.append(w(name, val="{{ layout." + tag + " }}"))


def cover(document):
    control_stamp(para(document, "文件编码：{{ doc.file_code }}", COVER_TEXT))
    # The project name broken where a reader breaks it, at the size that fits it (opsdoc.generate.fitting).
    title = para(document, "{{ doc.cover_title }}", COVER_TITLE)
    fitted_spacing(title, "before", "cover_before_title")
    title.add_run().add_break()
    title.add_run(DOCUMENT_KIND)
    for run in title.runs:
        fitted_size(run, "cover_title_size")
    version = para(document, "版本号：{{ doc.version }}", COVER_TEXT)
    version.alignment = C
    fitted_spacing(version, "after", "cover_after_version")  # pushes the tables to the lower page

    # The sign-off of the version in force: names and dates of the last 文件版本历史 row.
    cover_lines(
        document,
        [
            ("编制", "{{ release.reviser }}", "{{ release.revised_on }}"),
            ("审核", "{{ release.reviewer }}", "{{ release.reviewed_on }}"),
            ("批准", "{{ release.approver }}", "{{ release.approved_on }}"),
        ],
        [30, 30, 40],
    )
    after_table(para(document, "", COVER_TEXT))
    cover_lines(
        document,
        [
            ("客户名称", "{{ doc.customer }}"),
            ("发布日期", "{{ release.approved_on }}"),
            ("实施日期", "{{ doc.effective_date }}"),
            ("密级", "{{ doc.secrecy }}"),
            ("受控状态", CONTROL_MARK),  # a draft is never 受控
        ],
        [30, 70],
    )
    # The issuing body at the foot of the cover, where a standard's cover names its publisher.
    issuer = para(document, "{{ doc.org }}", COVER_TEXT)
    issuer.alignment = C
    fitted_spacing(issuer, "before", "cover_before_issuer")
    for run in issuer.runs:
        run.font.size = Pt(16)
        run.bold = True


def revision_history(document):
    # Its section break already starts the page: a page break as well would leave one blank.
    para(document, "文件版本历史", PAGE_TITLE).paragraph_format.page_break_before = False
    add_table(
        document,
        [
            ("文件版本", 11, C),
            ("修订日期/修订人", 19, C),
            ("审核日期/审核人", 19, C),
            ("批准日期/批准人", 19, C),
            ("修订说明", 32, L),
        ],
        loop(
            "r",
            "revisions",
            [
                "{{ r.version }}",
                "{{ r.revised }}",
                "{{ r.reviewed }}",
                "{{ r.approved }}",
                cell_lines("r.note"),
            ],
        ),
    )
    after_table(para(document, "说明：", "Normal"))
    para(document, "1．封皮页版本号应与“文件版本控制页”最后一条版本记录的“文件版本”保持一致；", NUMBERED)
    para(
        document,
        "2．采用文件更改申请单完成更改编审批时，“修订说明”可直接填写文件更改申请单单号，否则应记录具体修改内容。",
        NUMBERED,
    )


def contents(document):
    """目录: a real TOC field; its stored result lists the chapters without page
    numbers until Word (updateFields) or the PDF stage fills them in."""
    para(document, "目录", PAGE_TITLE)
    for number, title in enumerate(CHAPTERS, 1):
        p = document.add_paragraph(style=TOC1)
        if number == 1:
            field_begin(p, 'TOC \\o "1-2" \\h \\z \\u')
        p.add_run(f"{number}\u3000{title}")
        if number == len(CHAPTERS):
            field_end(p)


# ---------------------------------------------------------------- chapters


def chapter(document, number):
    heading(document, CHAPTERS[number - 1], 1)


def chapter_notes(document, number):
    """Extra paragraphs the workbook adds at the end of the chapter, spaced from a table above."""
    after_table(lines(document, f"notes.c{number}"))


def chapter_1(document):
    chapter(document, 1)
    for title, key in (("建设背景", "construction"), ("业务问题", "problems"), ("项目概览", "overview")):
        heading(document, title, 2)
        lines(document, f"background.{key}")
    chapter_notes(document, 1)


def chapter_2(document):
    chapter(document, 2)
    para(
        document,
        "本项目服务团队由运维服务部门经理{{ doc.dept_manager }}负责组建，设服务项目经理1名"
        "（{{ team_summary.manager }}），服务项目工程师{{ team_summary.engineer_count }}名，"
        "{% if team_summary.other_count != '0' %}其他人员{{ team_summary.other_count }}名，{% endif %}"
        "团队共{{ team_summary.member_count }}人。服务项目经理履行服务项目的管理职责；"
        "服务项目工程师的工作职责按照服务需求确定。岗位职责由服务项目经理负责制订，"
        "参考QT服务管理体系岗位角色职责表执行。",
    )
    caption(document, "服务项目团队成员及职责")
    add_table(
        document,
        [
            ("姓名", 9, C),
            ("岗位", 17, C),
            ("专业方向", 14, C),
            ("工作\n方式", 8, C),
            ("职责", 34, L),
            ("联系电话", 18, C),  # wide enough for 138-0000-1234 on one line
        ],
        loop(
            "m",
            "team",
            [
                "{{ m.name }}",
                "{{ m.role }}",
                "{{ m.specialty }}",
                "{{ m.work_mode }}",
                cell_bullets("m.duties"),
                "{{ m.phone }}",
            ],
        ),
    )
    chapter_notes(document, 2)


def chapter_3(document):
    chapter(document, 3)
    heading(document, "服务目标", 2)
    para(
        document,
        "本项目运维工作目标由服务项目经理根据客户服务需求和服务范围变化情况制订，服务范围变化时随之修订；"
        "目标包括公司的业务目标（财务方面和客户满意度方面）、客户业务目标和技术目标。",
    )
    caption(document, "服务目标")
    add_table(
        document,
        [
            ("目标类别", 27, C),  # 公司业务目标-客户满意度 on one line
            ("目标描述", 35, L),
            ("指标", 20, C),
            ("目标值", 18, C),
        ],
        loop(
            "g",
            "goals",
            [
                "{{ g.category }}",
                cell_lines("g.description"),
                "{{ g.metric }}",
                "{{ g.target }}",
            ],
        ),
    )
    heading(document, "服务范围", 2)
    para(
        document,
        "服务对象：服务行业为{{ scope.industry }}，客户级别为{{ scope.customer_level }}，"
        "客户性质为{{ scope.customer_nature }}。",
    )
    caption(document, "服务周期")
    add_table(
        document,
        [
            ("周期类型", 16, C),
            ("开始日期", 19, C),  # 2028年12月31日 on one line
            ("结束日期", 19, C),
            ("说明", 46, L),
        ],
        loop(
            "period",
            "periods",
            [
                "{{ period.type }}",
                "{{ period.start }}",
                "{{ period.end }}",
                "{{ period.note }}",
            ],
        ),
    )
    # The seed counts 服务方式 under 服务内容, not under 服务对象.
    after_table(
        para(
            document,
            "服务内容包括服务种类、服务级别、响应时间、服务方式等。本项目的服务方式：{{ scope.service_mode }}；"
            "服务种类、服务级别和响应时间见第4章服务目录和服务级别协议。",
        )
    )
    chapter_notes(document, 3)


def chapter_4(document):
    chapter(document, 4)
    para(
        document,
        "服务目录和服务级别协议是服务需求的具体反应和详细体现。服务需求按资产、场所、人员、应用、"
        "数据（内容）、业务、系统、资源、安全、管理等方面梳理。服务目录和服务级别协议的编制应参考体系"
        "文件服务级别管理程序执行。",
    )
    para(
        document,
        "本项目服务目录和服务级别协议由服务项目经理编制，已于{{ doc.catalog_review_date }}"
        "与客户评审确认（客户确认人：{{ doc.customer_confirmer }}），每年至少修订一次。",
    )
    heading(document, "服务目录", 2)
    caption(document, "服务目录")
    add_table(
        document,
        [
            ("编号", 9, C),
            ("服务\n类别", 9, C),
            ("服务项", 12, L),
            ("服务内容", 30, L),
            ("服务\n方式", 8, C),
            ("服务\n时间", 8.5, C),
            ("服务\n级别", 8, C),
            ("交付物", 15.5, L),
        ],
        loop(
            "s",
            "catalog",
            [
                "{{ s.code }}",
                "{{ s.category }}",
                "{{ s.item }}",
                cell_lines("s.content"),
                "{{ s.mode }}",
                "{{ s.hours }}",
                "{{ s.level }}",
                "{{ s.deliverables }}",
            ],
        ),
    )
    heading(document, "服务级别协议", 2)
    caption(document, "服务级别协议")
    add_table(
        document,
        [
            ("级别", 8, C),
            ("定义", 34, L),
            ("响应时间\n（分钟）", 13, C),
            ("到场时间\n（分钟）", 13, C),
            ("解决时间\n（小时）", 13, C),
            ("服务时间", 19, C),
        ],
        loop(
            "s",
            "sla",
            [
                "{{ s.level }}",
                cell_lines("s.definition"),
                "{{ s.response }}",
                "{{ s.onsite }}",
                "{{ s.resolution }}",
                "{{ s.hours }}",
            ],
        ),
    )
    chapter_notes(document, 4)


def chapter_5(document):
    chapter(document, 5)
    para(
        document,
        "本项目年度服务工作计划由服务项目经理编制，包括服务需求、服务目标计划、人员职责分工、"
        "任务分解计划、交付计划等内容，最近一次调整日期为{{ doc.plan_adjust_date }}，"
        "至少每半年调整一次，以符合客户服务需求的变化。",
    )
    caption(document, "年度服务工作计划")
    add_table(
        document,
        [
            ("计划类别", 12, C),  # four characters a line: 任务分解 / 计划, never inside a word
            ("任务", 27, L),  # the widest: the task is the longest text of a row
            ("责任人", 8, C),
            ("开始日期", 19, C),  # 2026年10月19日 on one line, with the space around its digits
            ("结束日期", 19, C),
            ("交付物", 15, L),
        ],
        loop(
            "t",
            "plan",
            [
                "{{ t.category }}",
                cell_lines("t.task"),
                "{{ t.owner }}",
                "{{ t.start }}",
                "{{ t.end }}",
                "{{ t.deliverables }}",
            ],
        ),
    )
    chapter_notes(document, 5)


def chapter_6(document):
    chapter(document, 6)
    para(
        document,
        "服务项目的管理完全由服务项目经理负责，包括支持管理、交付管理、预算管理、报告管理、"
        "风险管理、质量管理、项目验收等各个方面。",
    )

    heading(document, "服务支持管理和服务交付管理", 2)
    para(
        document,
        "应根据客户的服务需求“定制化”服务流程，服务流程的执行应参考公司IT服务管理体系相关管理"
        "程序相关内容执行。服务流程的定制应覆盖所提供的所有服务业务，应充分考虑与公司内其他质量"
        "管理体系和规范制度的融合，例如：ISO 9001、CMMI等。因服务内容不同导致的业务流程不一致，"
        "应作为本部门内部的流程特例，纳入整个公司IT服务管理体系进行统一管理。",
    )
    para(
        document,
        "{% if management.process_exceptions %}本项目的流程特例如下，均已纳入公司IT服务管理体系统一管理："
        "{% else %}本项目没有流程特例，服务流程均按公司IT服务管理体系相关管理程序执行。{% endif %}",
    ).paragraph_format.keep_with_next = True  # the lead-in stays with the first of its items
    numbered_lines(document, "management.process_exceptions")

    heading(document, "预算管理", 2)
    para(document, "应按照公司财务部门的要求编制部门成本预算和服务项目的成本预算。")
    caption(document, "项目成本预算")
    budget = add_table(
        document,
        [
            ("预算项", 30, L),
            ("类别", 16, C),
            ("金额（元）", 20, R),
            ("说明", 34, L),
        ],
        [
            *loop_to_total("b", "budget", ["{{ b.item }}", "{{ b.category }}", "{{ b.amount }}", "{{ b.note }}"]),
            ["合计", "", "{{ budget_total }}", ""],
        ],
    )
    total_row(budget)

    heading(document, "报告管理", 2)
    para(
        document,
        "服务报告是服务项目的重要交付物，应对报告的类型、频度、提交对象等进行定义。服务报告通常"
        "包括：周报、月报、季报、故障报告、事故报告、服务总结、工作汇报等。服务报告的模板可参考"
        "公司IT服务管理体系相关的报告模板，服务报告的形式和内容定义应与客户达成一致。",
    )
    caption(document, "服务报告")
    add_table(
        document,
        [
            ("报告类型", 14, C),
            ("频度", 18, C),  # 每次P1/P2故障 on one line
            ("提交对象", 30, C),
            ("编制人", 10, C),
            ("提交时限", 28, L),
        ],
        loop(
            "rp",
            "reports",
            [
                "{{ rp.type }}",
                "{{ rp.frequency }}",
                "{{ rp.recipient }}",
                "{{ rp.author }}",
                "{{ rp.deadline }}",
            ],
        ),
    )

    heading(document, "风险管理", 2)
    para(
        document,
        "服务项目经理应加强对项目风险的管理。首先，要结合服务目标和SLA，要充分利用以往的服务经验，"
        "例如：服务案例集等，从客户满意度、质量、成本和进度几个方面进行分析并识别风险；然后对识别"
        "出的风险进行评估，根据经验预估风险发生的几率和可能造成的影响，确定风险等级。最后需要根据"
        "风险的不同等级和类型，制订相应的风险管理措施，对于高级别的风险，要制订多种防范管理措施。",
    )
    caption(document, "风险登记")
    add_table(
        document,
        [
            ("风险\n编号", 8, C),
            ("风险\n类别", 8.5, C),
            ("风险描述", 22.5, L),
            ("可能性", 8, C),
            ("影响", 6.5, C),
            ("风险\n等级", 7.5, C),
            ("应对措施", 31, L),
            ("责任人", 8, C),
        ],
        loop(
            "k",
            "risks",
            [
                "{{ k.code }}",
                "{{ k.category }}",
                cell_lines("k.description"),
                "{{ k.likelihood }}",
                "{{ k.impact }}",
                "{{ k.level }}",
                cell_numbered("k.measures"),
                "{{ k.owner }}",
            ],
        ),
    )
    # The scores mean nothing without their scale, nor the level without its bands.
    after_table(
        para(
            document,
            "注：可能性按1（极小）至5（基本确定）评分，影响按1（轻微）至5（严重）评分；"
            "风险等级按可能性×影响的分值确定：{{ risk_bands }}。",
            TABLE_TEXT,
        )
    )

    heading(document, "质量管理", 2)
    para(
        document,
        "服务项目经理应该加强对服务质量的管理，服务质量应从过程和结果两个方面进行管理。过程中的"
        "服务质量重点在于服务流程及规范的执行情况，是否按照规范的要求完成了所有的服务操作。结果中"
        "的服务质量重点在于服务的技术指标和承诺的SLA是否达成。",
    )
    para(
        document,
        "服务质量管理计划由服务项目经理负责编制；服务相关部门应制订详细的质量保障措施，针对服务"
        "质量的审核结果和改进建议，要有明确的改进计划，确保改进效果。",
    )
    para(document, "项目中的投诉和满意度由公司统一管理，投诉的具体定义应由服务项目经理与客户沟通商定，达成一致。")
    lines(document, "management.complaint_definition")
    quality_columns = [("类型", 16, C), ("内容", 54, L), ("依据", 30, L)]
    caption(document, "服务质量管理计划")
    add_table(
        document,
        quality_columns,
        [
            *loop("q", "quality.process", ["过程质量", cell_lines("q.content"), "{{ q.basis }}"]),
            *loop("q", "quality.result", ["结果质量", cell_lines("q.content"), "{{ q.basis }}"]),
            *loop("q", "quality.assurance", ["质量保障措施", cell_lines("q.content"), "{{ q.basis }}"]),
            *loop("q", "quality.improvement", ["改进计划", cell_lines("q.content"), "{{ q.basis }}"]),
        ],
    )

    heading(document, "项目验收", 2)
    para(
        document,
        "依据服务合同及服务目标，服务项目经理需要与客户共同协商、定义验收标准。服务项目的验收标准"
        "以是否通过服务达成客户的业务目标，是否达成SLA所定义的服务指标等为重点。",
    )
    caption(document, "验收标准")
    add_table(
        document, quality_columns[1:], loop("q", "quality.acceptance", [cell_lines("q.content"), "{{ q.basis }}"])
    )
    after_table(
        para(
            document,
            "服务文档的归档和装订工作是项目验收的重要组成部分，几类文档应该包括服务过程的"
            "各类记录、报告和总结等各种形式。",
        )
    )
    caption(document, "归档文档")
    add_table(document, quality_columns[1:], loop("q", "quality.archive", [cell_lines("q.content"), "{{ q.basis }}"]))
    chapter_notes(document, 6)


def chapter_7(document):
    chapter(document, 7)
    heading(document, "资源使用计划", 2)
    para(
        document,
        "为提高服务的有效性，服务项目经理需要编制服务项目的资源使用计划。资源通常应包括内部资源和"
        "外部资源两类，内部资源包括人力资源（如开发部门的支持）、管理工具（公司业务管理系统，如周报"
        "系统）等，外部资源包括设备供应商、服务提供商（如电信运营商）、软件开发商、系统集成商等。"
        "内部资源、外部资源的使用要纳入服务项目的预算管理体系中。",
    )
    caption(document, "资源使用计划")
    add_table(
        document,
        [
            ("资源性质", 12, C),
            ("资源类别", 13, C),
            ("名称", 21, L),
            ("用途", 28, L),
            ("纳入\n预算", 8, C),
            ("预算项", 18, L),
        ],
        loop(
            "x",
            "resources",
            [
                "{{ x.nature }}",
                "{{ x.category }}",
                "{{ x.name }}",
                "{{ x.purpose }}",
                "{{ x.budgeted }}",
                "{{ x.budget_line }}",
            ],
        ),
    )
    heading(document, "服务工具", 2)
    para(
        document,
        "提高服务效率、改进服务质量，服务团队应该制订服务工具的使用计划。服务工具包括服务流程支撑类、"
        "系统运行监控类、系统远程管理类、热线业务支撑类等。服务工具平台的运行维护和管理需要纳入服务"
        "团队的日常运维管理内容之中。",
    )
    caption(document, "服务工具")
    add_table(
        document,
        [
            ("工具类别", 18, C),
            ("工具名称", 24, L),
            ("用途", 40, L),
            ("维护责任人", 18, C),
        ],
        loop(
            "x",
            "tools",
            [
                "{{ x.category }}",
                "{{ x.name }}",
                "{{ x.purpose }}",
                "{{ x.maintainer }}",
            ],
        ),
    )
    chapter_notes(document, 7)


def chapter_8(document):
    chapter(document, 8)
    para(
        document,
        "为确保服务绩效，服务团队在服务提供过程中，除了严格按照服务流程履行服务职责外，还应严格遵守"
        "公司、部门、客户的相关规章制度和工作规范。",
    )
    para(
        document,
        "公司相关管理制度和规范，包括：员工手册、薪酬与福利管理制度、考核制度、考勤与休假管理制度、"
        "培训制度、聘用与劳动合同管理制度等。",
    )
    para(
        document,
        "客户方管理制度、工作习惯和惯例，根据客户性质各有不同，注意网络与信息安全保密、着装与服务行为、"
        "重要场所进出等方面的规章制度。",
    )
    para(
        document,
        "部门服务工作规范是服务相关部门结合服务业务特点制订的相关规范。如{{ doc.org }}制订的运维服务"
        "工作规范，包括服务工作制度，包括基本工作制度、值班制度、上网管理制度等等；服务行为规范，包括"
        "基本礼仪、通用规范、热线服务、现场服务、服务禁语等；服务技术规范，包括基本操作、应急维护、"
        "数据维护、应用维护、环境维护、服务交付等。",
    )
    caption(document, "工作规范")
    add_table(
        document,
        [
            ("规范来源", 16, C),
            ("规范名称", 28, L),
            ("要点", 56, L),
        ],
        loop(
            "n",
            "norms",
            [
                "{{ n.source }}",
                "{{ n.name }}",
                cell_lines("n.points"),
            ],
        ),
    )
    chapter_notes(document, 8)


def chapter_9(document):
    chapter(document, 9)
    para(
        document,
        "服务项目的绩效考核是服务项目管理的重要内容，服务项目经理应制订服务项目绩效考核体系，对于"
        "绩效考核的组织、考核内容、评分办法、奖惩措施等进行定义。",
    )
    lines(document, "management.assessment_organisation")
    caption(document, "绩效考核指标")
    kpis = add_table(
        document,
        [
            ("考核指标", 18, L),
            ("权重\n（%）", 9, C),
            ("目标值", 10, C),
            ("评分办法", 26, L),
            ("奖惩措施", 29, L),
            ("考核\n周期", 8, C),
        ],
        [
            *loop_to_total(
                "i",
                "kpis",
                [
                    "{{ i.metric }}",
                    "{{ i.weight }}",
                    "{{ i.target }}",
                    cell_lines("i.scoring"),
                    "{{ i.reward }}",
                    "{{ i.period }}",
                ],
            ),
            ["合计", "{{ kpi_total_weight }}"],
        ],
    )
    total_row(kpis)
    chapter_notes(document, 9)


def chapter_10(document):
    chapter(document, 10)
    para(
        document,
        "服务合同模板是服务工作规范的组成部分，是客户服务要求的总体要求和约束，服务项目经理必须完全"
        "理解服务合同中的所有条款和详细内容，可参考公司IT服务管理体系SLA模板，也可采用客户方提供的"
        "服务合同模板，但服务的具体指标应在服务合同中予以明确。",
    )
    caption(document, "服务合同")
    key_value_table(
        document,
        [
            ("合同编号", "{{ contract.number }}"),
            ("合同名称", "{{ contract.name }}"),
            ("甲方", "{{ contract.party_a }}"),
            ("乙方", "{{ contract.party_b }}"),
            ("合同期限", "{{ contract.start }}至{{ contract.end }}"),
            ("模板来源", "{{ contract.template_source }}"),
        ],
    )
    heading(document, "合同指标", 2)
    caption(document, "合同指标")
    add_table(
        document,
        [
            ("指标", 24, L),
            ("合同约定值", 42, L),
            ("条款号", 14, C),
            ("对应SLA级别", 20, C),
        ],
        loop(
            "x",
            "contract_metrics",
            [
                "{{ x.metric }}",
                "{{ x.value }}",
                "{{ x.clause }}",
                "{{ x.sla_level }}",
            ],
        ),
    )
    chapter_notes(document, 10)


# ---------------------------------------------------------------- build


def save_reproducibly(document, path):
    """Save with fixed zip timestamps: rebuilding an unchanged template gives identical bytes."""
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(deterministic_zip(buffer.getvalue()))


def build():
    document = Document()
    section = document.sections[0]
    setup_page(section)
    define_styles(document)
    define_headings(document)
    setup_settings(document)
    setup_properties(document)
    setup_font_table(document)
    header_footer(section)

    cover(document)
    # The cover is unnumbered, the front matter numbered i, ii, and chapter 1 starts on page 1;
    # each section has its own footer, so its page numbers are its own.
    page_footer(new_section(document, "lowerRoman"))
    revision_history(document)
    contents(document)
    page_footer(new_section(document, "decimal"), total=True)
    for make_chapter in (
        chapter_1,
        chapter_2,
        chapter_3,
        chapter_4,
        chapter_5,
        chapter_6,
        chapter_7,
        chapter_8,
        chapter_9,
        chapter_10,
    ):
        make_chapter(document)
    return document


if __name__ == "__main__":
    save_reproducibly(build(), OUTPUT)
    print(f"wrote {OUTPUT}")
