"""Findings as data: one catalogue of every code, one Finding, one Location, one Report.

Every stage (reading the workbook, the consistency rules, verify, template check) reports
through these types and only with codes of the catalogue below; codes are stable, since
reports, `--skip` and QA scripts use them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from opsdoc.contract.vocabulary import Severity, Stage

E, W = Severity.ERROR, Severity.WARNING
READ, RULES, VERIFY, TEMPLATE = Stage.READ, Stage.RULES, Stage.VERIFY, Stage.TEMPLATE
REGISTER, IMPORT, ISSUE = Stage.REGISTER, Stage.IMPORT, Stage.ISSUE


@dataclass(frozen=True)
class Code:
    """A finding code: the stage that reports it, its severity, its title and its source sentence."""

    code: str
    stage: Stage
    severity: Severity
    title: str
    source: str = ""  # the seed's sentence a rule enforces (rules.md)
    also: Stage | None = None  # a second stage that reports the same problem (placeholder-text)

    @property
    def stages(self) -> tuple[Stage, ...]:
        return (self.stage,) if self.also is None else (self.stage, self.also)


CATALOGUE: dict[str, Code] = {
    c.code: c
    for c in [
        Code("missing-sheet", READ, E, "缺少必需的工作表"),
        Code("missing-column", READ, E, "表格工作表缺少必填列"),
        Code("missing-label", READ, E, "键值工作表缺少必填项目"),
        Code("missing-value", READ, E, "必填单元格为空"),
        Code("bad-date", READ, E, "不是日期（含不存在的日期和纯数字）"),
        Code("bad-number", READ, E, "需要数字的单元格不是数字"),
        Code("bad-choice", READ, E, "下拉列的值不在可选列表中"),
        Code("bad-value", READ, E, "值的类型无法识别"),
        Code("formula-no-value", READ, E, "公式没有缓存的计算结果"),
        Code("error-cell", READ, E, "单元格是 Excel 错误值"),
        Code("illegal-character", READ, E, "含有 Word 无法保存的控制字符"),
        Code("cell-too-long", READ, E, "单元格超过 32767 个字符（Excel 的上限）"),
        Code("number-too-long", READ, E, "数字超过 15 位（Excel 只保存 15 位有效数字），应以文本填写"),
        Code("merged-cells", READ, E, "表头或键值工作表中的合并单元格：无法确定每个单元格的值"),
        Code(
            "placeholder-text", READ, E, "保留了模板占位内容：XXX、XX、Vx.y、YYYYMMDD、【…】、编制人姓名…", also=VERIFY
        ),
        Code("unknown-column", READ, W, "表头不是本表的列，内容不会写入文档"),
        Code("unknown-label", READ, W, "项目不是本表的项目，内容不会写入文档"),
        Code("duplicate-key", RULES, E, "风险编号、服务目录编号、SLA级别、文件版本不得重复"),
        Code(
            "cover-version-mismatch",
            RULES,
            E,
            "封面版本号与修订记录最后一行的文件版本一致",
            "封皮页版本号应与“文件版本控制页”最后一条版本记录的“文件版本”保持一致",
        ),
        Code("version-format", RULES, E, "版本号格式为 V主版本.次版本（如 V1.2）", "版本号：Vx.y"),
        Code("version-order", RULES, E, "修订记录的文件版本自上而下严格递增", "文件控制"),
        Code(
            "revision-note",
            RULES,
            E,
            "修订说明是更改申请单单号或具体修改内容",
            "“修订说明”可直接填写文件更改申请单单号，否则应记录具体修改内容",
        ),
        Code("revision-date-order", RULES, E, "每行 修订日期 ≤ 审核日期 ≤ 批准日期", "编制→审核→批准"),
        Code("revision-chronology", RULES, E, "每次修订不早于上一版本的批准日期", "文件控制"),
        Code("self-approval", RULES, W, "审核人、批准人不是修订人本人", "编制→审核→批准由不同的人完成"),
        Code("effective-date", RULES, W, "生效日期不早于最后一次批准日期", "文件控制"),
        Code(
            "draft-controlled",
            RULES,
            E,
            "草稿版本（V0.x）不是受控文件，受控状态应为“非受控”",
            "V1.0 为首次发布，V0.x 为草稿；受控文件由文控发放",
        ),
        Code(
            "file-code-format",
            RULES,
            E,
            "文件编码符合公司规定的格式（opsdoc.toml 的 file_code_pattern）",
            "公司文件编码规则",
        ),
        Code("team-manager-count", RULES, E, "每个项目组设定一名服务项目经理", "服务项目经理……每个项目组设定一名"),
        Code("team-engineers", RULES, E, "至少一名服务项目工程师，并写明职责", "按照服务需求确定工程师的工作职责"),
        Code(
            "goal-coverage",
            RULES,
            E,
            "服务目标包含财务、客户满意度、客户业务、技术四类",
            "公司的业务目标主要包括财务方面和客户满意度方面……技术目标",
        ),
        Code("period-order", RULES, E, "每个服务周期的结束日期晚于开始日期", "服务周期"),
        Code(
            "catalog-coverage",
            RULES,
            W,
            "服务目录覆盖全部十个服务类别",
            "资产、场所、人员、应用、数据(内容)、业务、系统、资源、安全、管理",
        ),
        Code("catalog-sla-ref", RULES, E, "服务目录的服务级别是服务级别协议中定义的级别", "服务目录和服务级别协议"),
        Code("sla-monotonic", RULES, W, "响应时间和解决时间 P1 ≤ P2 ≤ P3 ≤ P4", "SLA 惯例"),
        Code(
            "catalog-review-age",
            RULES,
            E,
            "服务目录评审日期不早于生效日期前12个月",
            "每年要进行修订和完善，每年至少一次，并与客户达成一致",
        ),
        Code(
            "plan-coverage",
            RULES,
            W,
            "工作计划包含五类计划",
            "服务需求、服务目标计划、人员职责分工、任务分解计划、交付计划",
        ),
        Code("plan-owner", RULES, E, "工作计划的责任人是组织职责中的成员", "人员职责分工"),
        Code("plan-adjust-age", RULES, E, "工作计划调整日期不早于生效日期前6个月", "至少每半年要调整一次"),
        Code("task-dates", RULES, E, "每项任务的结束日期不早于开始日期", "任务分解计划"),
        Code(
            "report-definition",
            RULES,
            E,
            "每种服务报告定义了类型、频度和提交对象",
            "应对报告的类型、频度、提交对象等进行定义",
        ),
        Code(
            "risk-level",
            RULES,
            E,
            "填写的风险等级与 可能性×影响 推出的等级一致",
            "预估风险发生的几率和可能造成的影响，确定风险等级",
        ),
        Code("risk-measures", RULES, E, "较大、重大风险至少有两条应对措施", "对于高级别的风险，要制定多种防范管理措施"),
        Code(
            "quality-coverage",
            RULES,
            E,
            "质量与验收写明过程质量、结果质量、质量保障措施、改进计划、验收标准和归档文档",
            "服务质量应从过程和结果两个方面进行管理……质量保障措施……改进计划……验收标准……归档",
        ),
        Code(
            "resource-budget",
            RULES,
            W,
            "资源使用纳入项目预算",
            "内部资源、外部资源的使用要纳入服务项目的预算管理体系中",
        ),
        Code(
            "resource-budget-line",
            RULES,
            W,
            "纳入预算的资源写明列支它的预算项，且该预算项在预算表中",
            "内部资源、外部资源的使用要纳入服务项目的预算管理体系中",
        ),
        Code(
            "tool-coverage",
            RULES,
            W,
            "服务工具覆盖四个工具类别",
            "服务流程支撑类、系统运行监控类、系统远程管理类、热线业务支撑类",
        ),
        Code(
            "norm-coverage", RULES, W, "工作规范包含公司、客户和部门的规范", "公司、部门、客户的相关规章制度和工作规范"
        ),
        Code("kpi-weights", RULES, E, "绩效考核权重合计 100", "评分办法"),
        Code("contract-metrics", RULES, E, "每个SLA级别在合同指标中有约定值", "服务的具体指标应在服务合同中予以明确"),
        Code(
            "contract-sla-times",
            RULES,
            E,
            "合同指标写明的响应、到场、解决时间与所对应SLA级别的时间一致",
            "服务目录和服务级别协议……服务的具体指标应在服务合同中予以明确",
        ),
        Code("contract-period", RULES, E, "合同结束日期晚于合同开始日期", "服务合同"),
        Code(
            "effective-in-contract",
            RULES,
            W,
            "生效日期在服务合同期限之内",
            "服务合同……是客户服务要求的总体要求和约束",
        ),
        Code("foreign-document", VERIFY, E, "不是按该模板生成的文档：没有任何一章的标题，也没有模板的固定文字"),
        Code("chapter-missing", VERIFY, E, "缺少模板中的一章（Heading 1）"),
        Code("chapter-order", VERIFY, E, "章的顺序与模板不同"),
        Code("chapter-title", VERIFY, E, "章标题与模板不同"),
        Code("chapter-style", VERIFY, E, "章标题不是 Heading 1 样式"),
        Code("chapter-extra", VERIFY, E, "模板中没有的章（Heading 1）"),
        Code("section-missing", VERIFY, E, "缺少模板中的小节（Heading 2）"),
        Code("section-order", VERIFY, E, "小节的顺序与模板不同"),
        Code("section-title", VERIFY, E, "小节标题与模板不同"),
        Code("section-style", VERIFY, E, "小节标题不是 Heading 2 样式"),
        Code("section-extra", VERIFY, E, "模板中没有的小节（Heading 2）"),
        Code("fixed-text-missing", VERIFY, E, "缺少模板的固定文字"),
        Code("fixed-text-changed", VERIFY, E, "模板的固定文字被改动"),
        Code("fixed-text-order", VERIFY, E, "模板的固定文字不在模板中的位置"),
        Code("template-tag", VERIFY, E, "残留模板标签 {{、{%、{#"),
        Code("hidden-text", VERIFY, E, "文档中有隐藏文字（打印和阅读时看不到）"),
        Code("imported-content", VERIFY, E, "文档导入外部内容（altChunk），verify 无法核对"),
        Code("version-missing", VERIFY, E, "封面、文件版本历史、页眉页脚或文档属性中没有版本号"),
        Code("version-mismatch", VERIFY, E, "版本号不一致：封面、文件版本历史最后一行、页眉页脚、文档属性"),
        Code("revision-order", VERIFY, E, "文件版本历史的版本号不是严格递增的 V主版本.次版本"),
        Code("page-setup", VERIFY, E, "纸张大小、方向或页边距与模板不同"),
        Code("unknown-style", VERIFY, E, "使用了模板没有定义的段落或表格样式"),
        Code("toc-missing", VERIFY, E, "没有目录域（TOC）"),
        Code("cover-overflow", VERIFY, E, "封面超过一页（排版后）"),
        Code("header-wrapped", VERIFY, E, "页眉折成了多行（排版后）"),
        Code("near-blank-page", VERIFY, E, "几乎空白的页面（排版后）"),
        Code("heading-at-page-foot", VERIFY, E, "标题或表题单独留在页面底部（排版后）"),
        Code("table-row-splittable", VERIFY, W, "表格行可能跨页断开（行未设“不允许跨页断行”）"),
        Code("workbook-invalid", VERIFY, E, "工作簿有错误，无法核对文档内容"),
        Code("value-missing", VERIFY, E, "工作簿中的值没有出现在文档中"),
        Code("value-misplaced", VERIFY, E, "补充说明没有出现在工作簿指定的章"),
        Code("template-syntax", TEMPLATE, E, "模板标签语法错误"),
        Code("template-unknown-name", TEMPLATE, E, "模板使用了上下文中没有的名称"),
        Code("template-unsafe", TEMPLATE, E, "模板访问了不允许的内部属性"),
        Code("template-unescaped", TEMPLATE, E, "模板关闭了转义（|safe、autoescape 块）：单元格内容可能写入 Word XML"),
        Code("template-over-budget", TEMPLATE, E, "模板的循环或运算超出渲染预算（次数、大小或时间）"),
        Code("template-missing-chapter", TEMPLATE, E, "模板缺少规范的一章（Heading 1）"),
        Code("template-chapter-order", TEMPLATE, E, "模板的章节顺序与规范不同"),
        Code("template-no-toc", TEMPLATE, E, "模板没有目录域"),
        Code(
            "approved-after-issue",
            ISSUE,
            E,
            "最后一次修订的批准日期晚于发布当天：版本批准后才能发布",
            "ISO 9001 7.5.2：文件发布前应经评审和批准",
        ),
        Code("history-missing-version", ISSUE, E, "修订记录缺少已发布的版本：已发布版本的记录不能删除"),
        Code("history-rewritten", ISSUE, E, "已发布版本的修订记录被改写（日期、人员或修订说明与登记时不同）"),
        Code("effective-before-issue", ISSUE, W, "生效日期早于发布当天（追溯生效须用 --backdate 确认，并记入登记册）"),
        Code("effective-before-predecessor", ISSUE, E, "生效日期早于现行版本的生效日期"),
        Code("file-code-unfilable", ISSUE, E, "文件编码作为归档文件夹名过长或与登记册同名"),
        Code("archive-missing-file", REGISTER, E, "登记册中的文件在归档中不存在"),
        Code("archive-altered-file", REGISTER, E, "归档文件的 SHA-256 与登记册不符（文件被改动）"),
        Code("archive-unregistered-file", REGISTER, E, "归档中有登记册没有记录的文件"),
        Code("archive-unregistered-folder", REGISTER, E, "归档中有登记册没有记录的版本文件夹（会阻止该版本发布）"),
        Code("archive-staging-left", REGISTER, E, "中断的发布留下了暂存文件夹"),
        Code("archive-symlink", REGISTER, E, "归档中有符号链接（发布不会经由链接写入）"),
        Code("archive-unsafe-path", REGISTER, E, "登记册中的路径指向归档之外或经由符号链接"),
        Code("archive-void-pending", REGISTER, W, "已作废版本的作废副本尚未生成（opsdoc register sync）"),
        Code(
            "register-inconsistent",
            REGISTER,
            E,
            "登记册的行不是 opsdoc 写的样子（日期格式、撤销时间、作废副本）：被手工改动过",
        ),
        Code("import-foreign-paragraph", IMPORT, W, "段落不是模板的固定文字，也不属于任何已知的值：没有导入"),
        Code("import-unknown-table", IMPORT, W, "表格的表头不属于任何工作表：没有导入"),
        Code("import-extra-column", IMPORT, W, "表格有工作表没有的列：该列没有导入"),
        Code("import-bad-value", IMPORT, E, "值无法识别：按原文写入单元格，check 会在那里报告"),
        Code("import-ambiguous-value", IMPORT, W, "值的含义不明确（另一种等级、无法换算的单位、两处不同）：单元格留空"),
        Code("import-placeholder", IMPORT, W, "保留了模板的填写说明【…】或占位内容：没有导入"),
        Code("import-total-mismatch", IMPORT, W, "合计行与各行之和不一致"),
        Code("import-value-missing", IMPORT, W, "文档中没有找到模板中的值或表格：单元格留空"),
        Code("import-text-kept", IMPORT, W, "章节中有不属于模板固定文字或值的段落：已放入该章的「补充说明」，请核对"),
        Code(
            "import-unreadable-content",
            IMPORT,
            E,
            "文档中有 opsdoc 读不了的内容（嵌入的 HTML/RTF 等 altChunk）：没有导入",
        ),
        Code("import-value-too-long", IMPORT, E, "值超过 Excel 单元格上限 32767 个字符：只写入了前面部分"),
    ]
}
"""Every finding code of every stage."""


def codes_of(*stages: Stage) -> list[Code]:
    """The codes the given stages report, in catalogue order."""
    return [c for c in CATALOGUE.values() if any(s in stages for s in c.stages)]


# ---------------------------------------------------------------- where a finding points

# How a Word document's parts are named to the people reading a verify report.
PART_NAMES = {
    "body": "正文",
    "header": "页眉",
    "footer": "页脚",
    "footnotes": "脚注",
    "endnotes": "尾注",
    "properties": "文档属性",
    "pages": "PDF",
}


@dataclass(frozen=True)
class Cell:
    """A place in the workbook: a sheet, and a cell such as ``修订记录!D5`` (None: the whole sheet)."""

    sheet: str
    cell: str | None = None

    def __str__(self) -> str:
        return self.cell or self.sheet

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "cell": self.cell}


@dataclass(frozen=True)
class Place:
    """A place in a Word document: the part, then the section, the paragraph (1-based among the
    part's paragraphs outside tables) or the table and row (1-based), and a short excerpt;
    None where it does not apply."""

    part: str  # a key of PART_NAMES
    section: int | None = None
    paragraph: int | None = None
    table: int | None = None
    row: int | None = None
    excerpt: str | None = None
    page: int | None = None  # of the laid-out PDF (part "pages")

    def __str__(self) -> str:
        place = PART_NAMES.get(self.part, self.part)
        if self.page is not None:
            place += f" 第{self.page}页"
        if self.section is not None:
            place += f" 第{self.section}节"
        if self.table is not None:
            place += f" 表{self.table}" + (f" 第{self.row}行" if self.row is not None else "")
        elif self.paragraph is not None:
            place += f" 第{self.paragraph}段"
        return place + (f"「{self.excerpt}」" if self.excerpt else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "section": self.section,
            "paragraph": self.paragraph,
            "table": self.table,
            "row": self.row,
            "excerpt": self.excerpt,
            "page": self.page,
        }


Location = Cell | Place


@dataclass(frozen=True)
class Finding:
    """One problem: its code, where it is (None: the workbook or document as a whole) and what to do.

    `related` are other places that take part in it (另见), e.g. the row a cover version
    disagrees with, or where in the document a lost workbook value should have stood.
    """

    code: str
    severity: Severity
    location: Location | None
    message: str
    related: tuple[Location, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def sheet(self) -> str | None:
        return self.location.sheet if isinstance(self.location, Cell) else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            **(self.location.as_dict() if self.location else {}),
            "related": [str(r) for r in self.related],
            "message": self.message,
        }

    def as_line(self) -> str:
        also = f"（另见 {'、'.join(map(str, self.related))}）" if self.related else ""
        where = str(self.location) if self.location else "整体"
        return f"{where}  {self.severity.label} [{self.code}] {self.message}{also}"


def finding(
    code: str, location: Location | None, message: str, related: tuple[Location, ...] | list[Location] = ()
) -> Finding:
    """A finding of a catalogued code, with the code's severity."""
    return Finding(code, CATALOGUE[code].severity, location, message, tuple(related))


@dataclass
class Report:
    """All findings about one file; ``sheet_order`` groups workbook findings as the workbook is laid out."""

    source: str
    findings: list[Finding] = field(default_factory=list)
    sheet_order: tuple[str, ...] = ()

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_error]

    def passes(self, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)

    def sorted(self) -> list[Finding]:
        """Errors first, then by sheet in workbook order; stable within a sheet."""
        order = {name: i for i, name in enumerate(self.sheet_order)}
        return sorted(self.findings, key=lambda f: (not f.is_error, order.get(f.sheet or "", len(order))))

    def to_text(self) -> str:
        lines = [f.as_line() for f in self.sorted()]
        lines.append(f"{self.source}：{len(self.errors)} 个错误，{len(self.warnings)} 个警告")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "source": self.source,
                "errors": len(self.errors),
                "warnings": len(self.warnings),
                "findings": [f.as_dict() for f in self.sorted()],
            },
            ensure_ascii=False,
            indent=2,
        )
