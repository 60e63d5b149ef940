"""The opsdoc command line: each command calls one library function and prints its report."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec

import click

from opsdoc.contract.vocabulary import Stage
from opsdoc.errors import OpsdocError

if TYPE_CHECKING:
    from opsdoc.pipeline import BuildResult

# opsdoc's models are the workbook contract, not an application to observe: a pydantic plugin
# installed for another program has no business in them, and looking for plugins reads every
# installed distribution's metadata (15 ms of a 0.75 s build). A value the user set is kept.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

FILE = click.Path(path_type=Path)
P = ParamSpec("P")
ANNOTATE_HELP = "另存一份标注副本：问题以批注和底色标在单元格上，首页「检查结果」列出全部问题（原工作簿不变）。"


def _handles_errors(command: Callable[P, None]) -> Callable[P, None]:
    """Turn a "cannot continue" error into one clear line and its exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            return command(*args, **kwargs)
        except OpsdocError as exc:
            click.echo(f"错误：{exc}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("已中断，未写入任何文件。", err=True)
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("OPSDOC_DEBUG"):
                raise
            click.echo(f"内部错误：{type(exc).__name__}: {exc}（设置 OPSDOC_DEBUG=1 查看详情并报告此问题）", err=True)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="opsdoc")
def main() -> None:
    """opsdoc：由数据工作簿生成受控的《运维工作管理规范》Word 文档。"""


@main.group()
def workbook() -> None:
    """数据工作簿（Excel）。"""


@workbook.command("new")
@click.option("-o", "--output", type=FILE, default=Path("运维工作管理规范.xlsx"), show_default=True)
@click.option("--force", is_flag=True, help="覆盖已存在的文件。")
@_handles_errors
def workbook_new(output: Path, force: bool) -> None:
    """写出空白数据工作簿：全部工作表、表头、填写提示和下拉列表。"""
    from opsdoc.office.output import Outputs
    from opsdoc.workbook.blank import new_workbook

    outputs = Outputs(force=force)
    written = outputs.add(output, new_workbook()).path
    (status,) = outputs.write()
    click.echo(f"{written}：空白工作簿{status.label}")


@main.command()
@click.argument("workbook_path", metavar="WORKBOOK", type=FILE)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="警告也视为不通过。")
@click.option("--skip", multiple=True, metavar="CODE", help="不执行某条规则（可重复）。")
@click.option("--config", type=FILE, help="公司约定配置文件（默认：工作簿旁的 opsdoc.toml）。")
@click.option("--annotate", type=FILE, metavar="OUT.xlsx", help=ANNOTATE_HELP)
@click.option("--force", is_flag=True, help="允许覆盖已存在的标注副本（原工作簿从不覆盖）。")
@_handles_errors
def check(
    workbook_path: Path,
    output_format: str,
    strict: bool,
    skip: tuple[str, ...],
    config: Path | None,
    annotate: Path | None,
    force: bool,
) -> None:
    """检查工作簿：读取、校验并执行全部一致性规则。退出码 0 通过，1 有错误，2 无法读取，3 拒绝覆盖。"""
    from opsdoc.pipeline import check as run_check
    from opsdoc.pipeline import write_annotated

    checked = run_check(workbook_path, config=config, skip=_known_codes(skip, Stage.READ, Stage.RULES))
    report = checked.report
    if annotate:
        write_annotated(checked, annotate, force=force)
    click.echo(report.to_json() if output_format == "json" else report.to_text())
    if annotate:
        click.echo(f"{annotate}：已写出标注副本（问题标在单元格上，清单见「检查结果」工作表）", err=True)
    sys.exit(0 if report.passes(strict) else 1)


@main.command()
@click.argument("workbook_paths", metavar="WORKBOOK…", type=FILE, nargs=-1, required=True)
@click.option("-o", "--output-dir", type=FILE, default=Path("."), show_default=True, help="输出文件夹。")
@click.option("--template", type=FILE, help="公司自己的 Word 模板（.docx，含 docxtpl 标签）。")
@click.option("--force", is_flag=True, help="允许覆盖内容不同的同名文件（已发布的版本）。")
@click.option(
    "--draft",
    is_flag=True,
    help="有错误也生成草稿：缺少的值显示为“〔待填写〕”，页眉标注“草稿（未通过检查）”，文件名加“_草稿”。",
)
@click.option("--strict", is_flag=True, help="警告也阻止生成。")
@click.option("--skip", multiple=True, metavar="CODE", help="不执行某条规则（可重复）。")
@click.option("--config", type=FILE, help="公司约定配置文件（默认：工作簿旁的 opsdoc.toml）。")
@click.option("--dump-context", type=FILE, metavar="JSON", help="把交给模板的完整上下文写成 JSON（仅单个工作簿）。")
@click.option("--pdf", is_flag=True, help="同时用 LibreOffice 导出 PDF；目录写入实际页码。")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="批量生成时的并行进程数。")
@click.option("--annotate", type=FILE, metavar="OUT.xlsx", help=ANNOTATE_HELP + "仅单个工作簿。")
@click.option(
    "--redline",
    type=FILE,
    metavar="ISSUED.docx",
    help="同时写出对比稿 {文件名}_对比稿.docx：与已发布版本的差异显示为修订（有 --pdf 时另出 PDF）。仅单个工作簿。",
)
@_handles_errors
def build(
    workbook_paths: tuple[Path, ...],
    output_dir: Path,
    template: Path | None,
    force: bool,
    draft: bool,
    strict: bool,
    skip: tuple[str, ...],
    config: Path | None,
    dump_context: Path | None,
    pdf: bool,
    jobs: int,
    annotate: Path | None,
    redline: Path | None,
) -> None:
    """检查工作簿并生成受控的 .docx；可给出多个工作簿或文件夹批量生成。

    退出码 0 成功，1 有错误未生成，2 无法读取，3 拒绝覆盖已发布版本（批量时取各文档中最大的）。
    """
    from opsdoc.pipeline import build as build_one
    from opsdoc.pipeline import workbooks_in

    options: dict[str, Any] = dict(
        template=template,
        config=config,
        force=force,
        draft=draft,
        strict=strict,
        skip=_known_codes(skip, Stage.READ, Stage.RULES),
        pdf=pdf,
    )
    sources = workbooks_in(workbook_paths)
    if len(workbook_paths) == 1 and len(sources) == 1 and sources[0] == workbook_paths[0]:
        progress = functools.partial(click.echo, err=True)
        result = build_one(
            sources[0],
            output_dir,
            dump_context=dump_context,
            progress=progress,
            annotate=annotate,
            redline=redline,
            **options,
        )
        if annotate:
            click.echo(f"{annotate}：已写出标注副本（问题标在单元格上，清单见「检查结果」工作表）", err=True)
        _report_build(result)
        return
    if dump_context:
        raise click.UsageError("--dump-context 只能用于单个工作簿")
    if annotate:
        raise click.UsageError("--annotate 只能用于单个工作簿")
    if redline:
        raise click.UsageError("--redline 只能用于单个工作簿")
    if not sources:
        from opsdoc.errors import UnusableWorkbook

        raise UnusableWorkbook(workbook_paths[0], "文件夹中没有 .xlsx 工作簿")
    sys.exit(_build_batch(sources, output_dir, jobs, options))


def _report_build(result: BuildResult) -> None:
    if result.report.findings:
        click.echo(result.report.to_text(), err=result.output is not None)
    if result.output is None:
        click.echo("存在错误，未生成文档。请按上面的提示修改工作簿（或用 --draft 生成草稿预览）。", err=True)
        sys.exit(1)
    if result.status:
        click.echo(f"{result.output}：{result.status.label}")
    if result.pdf and result.pdf_status:
        click.echo(f"{result.pdf}：{result.pdf_status.label}")
    for path, status in result.redlined:
        click.echo(f"{path}：{status.label}")


def _build_batch(sources: list[Path], output_dir: Path, jobs: int, options: dict[str, Any]) -> int:
    """One line per workbook as it completes, a progress bar on stderr, and the worst exit code."""
    import time

    from opsdoc.pipeline import build_many

    started, codes = time.perf_counter(), list[int]()
    with click.progressbar(length=len(sources), label="生成中", file=sys.stderr, show_pos=True) as bar:
        for item in build_many(sources, output_dir, jobs=jobs, **options):
            codes.append(item.exit_code)
            if item.error or item.result is None:
                line = f"✗ {item.source}：{item.error}"
            elif item.result.output is None or item.result.status is None:
                report = item.result.report
                line = f"✗ {item.source}：{len(report.errors)} 个错误，未生成（opsdoc check 查看详情）"
            else:
                line = f"✓ {item.source} → {item.result.output}（{item.result.status.label}）"
            click.echo(line)
            bar.update(1)
    built = codes.count(0)
    click.echo(
        f"共 {len(sources)} 个工作簿：成功 {built}，有错误未生成 {codes.count(1)}，"
        f"无法读取或写入 {len(codes) - built - codes.count(1)}；用时 {time.perf_counter() - started:.1f} 秒"
    )
    return max(codes)


@main.command()
@click.argument("docx_path", metavar="DOCX", type=FILE)
@click.option("--template", type=FILE, help="对照的 Word 模板（默认：内置模板）。")
@click.option("--workbook", "workbook_path", type=FILE, help="生成该文档的工作簿：检查其中每个值都出现在文档中。")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--skip", multiple=True, metavar="CODE", help="不报告某个核对代码（可重复）。")
@_handles_errors
def verify(
    docx_path: Path, template: Path | None, workbook_path: Path | None, output_format: str, skip: tuple[str, ...]
) -> None:
    """对照模板（和工作簿）检查一份 .docx。退出码 0 通过，1 有问题，2 无法读取。"""
    from opsdoc.qa.verify import verify_document

    report = verify_document(docx_path, template, workbook_path, skip=_known_codes(skip, Stage.VERIFY))
    click.echo(report.to_json() if output_format == "json" else report.to_text())
    sys.exit(0 if report.passes() else 1)


@main.command("diff")
@click.argument("old", metavar="OLD.docx", type=FILE)
@click.argument("new", metavar="NEW", type=FILE)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--note", is_flag=True, help="只输出可填入“修订说明”的摘要（每章一行）。")
@click.option("--template", type=FILE, help="NEW 为工作簿时使用的 Word 模板（默认：内置模板）。")
@click.option("--config", type=FILE, help="NEW 为工作簿时的公司约定配置文件（默认：工作簿旁的 opsdoc.toml）。")
@_handles_errors
def diff_command(
    old: Path, new: Path, output_format: str, note: bool, template: Path | None, config: Path | None
) -> None:
    """逐章比较两个版本：新增、删除、修改的段落和表格行，以及可填入“修订说明”的摘要。

    NEW 可以是 .docx，也可以是工作簿（.xlsx）：工作簿在内存中检查并生成后比较，不写任何文件。
    退出码 0 完成，1 工作簿有错误，2 无法读取。
    """
    from opsdoc.pipeline import compare

    compared = compare(old, new, template=template, config=config)
    if compared.diff is None:
        assert compared.report is not None
        click.echo(compared.report.to_text(), err=True)
        click.echo("工作簿存在错误，无法生成新版本进行比较。请按上面的提示修改工作簿。", err=True)
        sys.exit(1)
    changes = compared.diff
    if note and output_format == "text":
        for line in changes.summary_lines():  # none for identical versions: an empty note, not an empty line
            click.echo(line)
    else:
        click.echo(changes.to_json() if output_format == "json" else changes.to_text())


@main.command("redline")
@click.argument("old", metavar="OLD.docx", type=FILE)
@click.argument("new", metavar="NEW", type=FILE)
@click.option("-o", "--output", type=FILE, required=True, metavar="对比稿.docx", help="对比稿的路径。")
@click.option("--pdf", is_flag=True, help="同时导出显示修订的 PDF（与 -o 同名，扩展名 .pdf）。")
@click.option("--template", type=FILE, help="NEW 为工作簿时使用的 Word 模板（默认：内置模板）。")
@click.option("--config", type=FILE, help="NEW 为工作簿时的公司约定配置文件（默认：工作簿旁的 opsdoc.toml）。")
@click.option("--force", is_flag=True, help="允许覆盖内容不同的同名对比稿。")
@_handles_errors
def redline_command(
    old: Path, new: Path, output: Path, pdf: bool, template: Path | None, config: Path | None, force: bool
) -> None:
    """写出对比稿：新版本（.docx 或工作簿），与 OLD 的每处差异显示为 Word 修订。

    全部接受即为新版本，全部拒绝即为旧版本；修订人、日期取新版本历史的最后一行。
    退出码 0 完成，1 工作簿有错误，2 无法读取或不能比较，3 拒绝覆盖。
    """
    from opsdoc.pipeline import write_redline

    progress = functools.partial(click.echo, err=True)
    report, written = write_redline(
        old, new, output, template=template, config=config, force=force, pdf=pdf, progress=progress
    )
    if not written:
        assert report is not None
        click.echo(report.to_text(), err=True)
        click.echo("工作簿存在错误，未生成对比稿。请按上面的提示修改工作簿。", err=True)
        sys.exit(1)
    for path, status in written:
        click.echo(f"{path}：{status.label}")


@main.command("issue")
@click.argument("workbook_path", metavar="WORKBOOK", type=FILE)
@click.option("--archive", type=FILE, help="归档文件夹（默认：opsdoc.toml 中的 archive）。")
@click.option("--template", type=FILE, help="公司自己的 Word 模板（.docx，含 docxtpl 标签）。")
@click.option("--config", type=FILE, help="公司约定配置文件（默认：工作簿旁的 opsdoc.toml）。")
@click.option("--by", help="发布人（默认：当前操作系统用户）。")
@_handles_errors
def issue_command(
    workbook_path: Path, archive: Path | None, template: Path | None, config: Path | None, by: str | None
) -> None:
    """发布受控版本：检查（严格）、生成、核对、导出 PDF/A、归档并登记；上一版本作废。

    退出码 0 已发布或已登记且相同，1 有问题未发布，2 无法读取或导出，3 该版本已发布且内容不同。
    """
    from opsdoc.pipeline import issue

    result = issue(workbook_path, archive, template=template, config=config, by=by, progress=_progress)
    if result.issued is None:
        click.echo(result.report.to_text(), err=True)
        click.echo("存在错误或警告，未发布。请按上面的提示修改工作簿。", err=True)
        sys.exit(1)
    issued = result.issued
    if issued.report is not None and not issued.report.passes():
        click.echo(issued.report.to_text(), err=True)
    entry = issued.entry
    if entry is not None:
        click.echo(f"{entry.file_code} {entry.version}：{issued.outcome.label}（{entry.docx_path}）")
    else:
        click.echo(f"{workbook_path}：{issued.outcome.label}", err=True)
    if issued.superseded is not None:
        click.echo(f"{issued.superseded.file_code} {issued.superseded.version}：已作废")
    sys.exit(1 if entry is None else 0)


def _progress(message: str) -> None:
    click.echo(message, err=True)


@main.group("register")
def register_group() -> None:
    """受控文件清单：已发布版本的登记册。"""


ARCHIVE = click.option("--archive", type=FILE, default=Path("."), show_default=True, help="归档文件夹。")


@register_group.command("list")
@ARCHIVE
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_handles_errors
def register_list(archive: Path, output_format: str) -> None:
    """列出现行和作废的版本，最新的在前。"""
    import dataclasses
    import json

    from opsdoc.control.register import entries, open_register

    with open_register(archive) as connection:
        rows = entries(connection)
    if output_format == "json":
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], ensure_ascii=False, indent=2))
        return
    for r in rows:
        click.echo(
            f"{r.status}  {r.file_code}  {r.version}  {r.title}  生效 {r.effective_on}  发布 {r.issued_at} {r.issued_by}"
        )
    click.echo(f"共 {len(rows)} 个版本")


@register_group.command("export")
@ARCHIVE
@click.option("-o", "--output", type=FILE, default=Path("受控文件清单.xlsx"), show_default=True)
@click.option("--force", is_flag=True, help="覆盖已存在的文件。")
@_handles_errors
def register_export(archive: Path, output: Path, force: bool) -> None:
    """把登记册导出为格式化的 受控文件清单.xlsx。退出码 0 成功，2 无法读取，3 拒绝覆盖。"""
    from opsdoc.control.export import register_workbook
    from opsdoc.control.register import entries, open_register, register_path
    from opsdoc.office.output import Outputs

    with open_register(archive) as connection:
        rows = entries(connection)
    outputs = Outputs(inputs=[register_path(archive)], force=force)
    outputs.add(output, register_workbook(rows))
    (status,) = outputs.write()
    click.echo(f"{output}：{status.label}（{len(rows)} 个版本）")


@register_group.command("verify")
@ARCHIVE
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_handles_errors
def register_verify(archive: Path, output_format: str) -> None:
    """重新计算归档中每个文件的 SHA-256 并与登记册核对。退出码 0 一致，1 有缺失、改动或未登记的文件，2 无法读取。"""
    from opsdoc.control.register import verify_archive

    report = verify_archive(archive)
    click.echo(report.to_json() if output_format == "json" else report.to_text())
    sys.exit(0 if report.passes() else 1)


@main.group("template")
def template_group() -> None:
    """Word 模板。"""


@template_group.command("check")
@click.argument("template_path", metavar="TEMPLATE", type=FILE, required=False)
@click.option("--skip", multiple=True, metavar="CODE", help="不报告某个模板检查代码（可重复）。")
@_handles_errors
def template_check(template_path: Path | None, skip: tuple[str, ...]) -> None:
    """检查公司 Word 模板：用到的名称、十个章节、目录域（默认检查内置模板）。退出码 0 通过，1 有问题，2 无法读取。"""
    from opsdoc.qa.template_check import check_template

    report = check_template(template_path, skip=_known_codes(skip, Stage.TEMPLATE))
    click.echo(report.to_text())
    sys.exit(0 if report.passes() else 1)


@main.command("import")
@click.argument("source", metavar="DOCX", type=FILE)
@click.option("-o", "--output", type=FILE, help="写出的工作簿（默认：与文档同名的 .xlsx）。")
@click.option("--template", type=FILE, help="文档所依据的 Word 模板（默认：内置模板）。")
@click.option("--force", is_flag=True, help="覆盖已存在的工作簿。")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_handles_errors
def import_command(source: Path, output: Path | None, template: Path | None, force: bool, output_format: str) -> None:
    """把已有的（手写的）运维工作管理规范 .docx 导入为数据工作簿。退出码 0 全部导入，1 有内容需要补填，2 无法读取，3 未覆盖。"""
    from opsdoc.importer import import_document

    output = output or source.with_suffix(".xlsx")
    report = import_document(source, output, template=template, force=force)
    click.echo(report.to_json() if output_format == "json" else report.to_text())
    click.echo(f"{output}：已写出工作簿；下一步：opsdoc check {output}", err=True)
    sys.exit(0 if not report.findings else 1)


@main.command("rules")
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
def list_rules(output_format: str) -> None:
    """列出全部代码及其所属步骤：读取工作簿、一致性规则（check/build）、文档核对（verify）、模板检查（template check）。"""
    import json

    from opsdoc.contract.findings import CATALOGUE

    codes = list(CATALOGUE.values())
    if output_format == "json":
        rows = [
            {
                "code": c.code,
                "stages": [s.value for s in c.stages],
                "severity": c.severity.value,
                "title": c.title,
                "source": c.source,
            }
            for c in codes
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif output_format == "markdown":  # the table of docs/codes.md
        click.echo("| code | stage | severity | what it checks | source |\n|---|---|---|---|---|")
        for c in codes:
            stages = "、".join(s.label for s in c.stages)
            click.echo(f"| `{c.code}` | {stages} | {c.severity.value} | {c.title} | {c.source} |")
    else:
        for c in codes:
            stages = "、".join(s.label for s in c.stages)
            click.echo(f"{c.code:<26} {c.severity.value}  {stages:<10} {c.title}")


def _known_codes(codes: tuple[str, ...], *stages: Stage) -> tuple[str, ...]:
    """--skip's codes, each one the command's stages report; anything else is a usage error."""
    from opsdoc.contract.findings import CATALOGUE, codes_of

    allowed = {c.code for c in codes_of(*stages)}
    for code in codes:
        if code not in CATALOGUE:
            raise click.BadParameter(f"未知的代码：{code}（opsdoc rules 列出全部代码）", param_hint="--skip")
        if code not in allowed:
            where = "、".join(s.label for s in CATALOGUE[code].stages)
            raise click.BadParameter(
                f"{code} 属于「{where}」，不是本命令报告的代码（opsdoc rules 列出全部代码）", param_hint="--skip"
            )
    return codes
