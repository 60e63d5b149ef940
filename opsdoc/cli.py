"""The opsdoc command line: each command calls the public face (opsdoc.api) and prints what it returns."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from opsdoc import api
from opsdoc.click_zh import use_chinese

# opsdoc's models are the workbook contract, not an application to observe: a pydantic plugin
# installed for another program has no business in them, and looking for plugins reads every
# installed distribution's metadata (15 ms of a 0.75 s build). A value the user set is kept.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
use_chinese()  # click's own words (用法、选项、错误…) in the language of every other message

FILE = click.Path(path_type=Path)
F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]


def _first_sentence(text: str | None) -> str:
    """A command's line in its group's list: the first sentence of its help, whole (click cuts at spaces,
    which Chinese has none of, and would print only "...")."""
    lines = (text or "").strip().splitlines()
    return lines[0].split("。")[0].split("：")[0] if lines else ""


class Command(click.Command):
    """opsdoc's commands: listed by their first sentence, usage in Chinese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)

    def get_short_help_str(self, limit: int = 45) -> str:
        return self.short_help or _first_sentence(self.help)


class Group(Command, click.Group):
    """opsdoc's groups: commands of their own kind, and the one error boundary of the CLI."""

    command_class = Command
    group_class = type  # subgroups are Groups too

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        """Every "cannot continue" is one clear line and its exit code, never a traceback."""
        if ctx.parent is not None:  # the root group's boundary holds for its subgroups' commands
            return super().invoke(ctx)
        try:
            return super().invoke(ctx)
        except api.OpsdocError as exc:
            click.echo(f"错误：{exc}", err=True)
            sys.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("已中断：未完成的操作没有写入任何文件。", err=True)
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("OPSDOC_DEBUG"):
                raise
            click.echo(f"内部错误：{type(exc).__name__}: {exc}（设置 OPSDOC_DEBUG=1 查看详情并报告此问题）", err=True)
            sys.exit(2)


# ---------------------------------------------------------------- options shared by the commands


def output_format(*formats: str) -> Decorator[Any]:
    choices = formats or ("text", "json")
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="输出格式：text 供人阅读，json 供程序读取。",
    )


def template_option(help: str = "公司自己的 Word 模板（.docx，含 docxtpl 标签；默认：内置模板）。") -> Decorator[Any]:
    return click.option("--template", type=FILE, metavar="DOCX", help=help)


def config_option(help: str = "公司约定配置文件（默认：工作簿旁的 opsdoc.toml）。") -> Decorator[Any]:
    return click.option("--config", type=FILE, metavar="TOML", help=help)


def force_option(help: str) -> Decorator[Any]:
    return click.option("--force", is_flag=True, help=help)


def archive_option(configured: bool = False) -> Decorator[Any]:
    """--archive DIR: for issue, no default (opsdoc.toml's `archive` stands in); elsewhere the current folder."""
    if configured:
        return click.option(
            "--archive", type=FILE, metavar="DIR", help="归档文件夹（默认：opsdoc.toml 中的 archive）。"
        )
    return click.option(
        "--archive", type=FILE, metavar="DIR", default=Path("."), show_default=True, help="归档文件夹。"
    )


def skip_option(*stages: api.Stage, help: str = "不执行某条规则（可重复）。") -> Decorator[Any]:
    """--skip CODE, repeatable; a code the command's stages do not report is a usage error."""

    def known(_ctx: click.Context, _param: click.Parameter, codes: tuple[str, ...]) -> tuple[str, ...]:
        problem = api.unskippable(codes, *stages)
        if problem:
            raise click.BadParameter(problem, param_hint="--skip")
        return codes

    return click.option("--skip", multiple=True, metavar="CODE", callback=known, help=help)


def output_file(default: str, help: str) -> Decorator[Any]:
    """-o FILE with its default, and --force to replace a file of that name."""

    def decorate(command: F) -> F:
        command = force_option("覆盖已存在的文件。")(command)
        return click.option(
            "-o", "--output", type=FILE, metavar="FILE", default=Path(default), show_default=True, help=help
        )(command)

    return decorate


def annotate_option(also: str = "") -> Decorator[Any]:
    return click.option(
        "--annotate",
        type=FILE,
        metavar="OUT.xlsx",
        help="另存一份标注副本：问题以批注和底色标在单元格上，首页「检查结果」列出全部问题（原工作簿不变）。" + also,
    )


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    known = api.versions()
    click.echo(f"opsdoc {known.opsdoc}\n内置 Word 模板 {known.template}\n工作簿契约 {known.contract}")
    ctx.exit()


def by_option(who: str) -> Decorator[Any]:
    return click.option(
        "--by", metavar="NAME", callback=lambda _c, _p, v: _named(v), help=f"{who}（默认：当前操作系统用户）。"
    )


def on_option(help: str) -> Decorator[Any]:
    return click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), metavar="YYYY-MM-DD", help=help)


REGISTER_CONFIG = "公司约定配置文件（默认：归档文件夹旁的 opsdoc.toml）。"


def _named(value: str | None) -> str | None:
    """--by: a person's name, never an empty one standing for the operating-system user."""
    if value is not None and not value.strip():
        raise click.BadParameter("不能为空：请写明姓名，或省略该选项（使用当前操作系统用户）", param_hint="--by")
    return value.strip() if value else value


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _print_written(files: tuple[api.Written, ...] | list[api.Written]) -> None:
    """Each file a command wrote, with what writing it did; the side copies on stderr, documents on stdout."""
    for file in files:
        if file.kind is api.FileKind.ANNOTATED:
            click.echo(f"{file.path}：已写出标注副本（问题标在单元格上，清单见「检查结果」工作表）", err=True)
        elif file.kind is api.FileKind.CONTEXT:
            click.echo(f"{file.path}：模板上下文{file.status.label}", err=True)
        else:
            click.echo(f"{file.path}：{file.status.label}")


# ---------------------------------------------------------------- the commands


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="显示 opsdoc、内置 Word 模板和工作簿契约的版本并退出。",
)
def main() -> None:
    """opsdoc：由数据工作簿生成受控的《运维工作管理规范》Word 文档，并管理其发布、版本和登记。"""


@main.group(cls=Group)
def workbook() -> None:
    """数据工作簿（Excel）。"""


@workbook.command("new")
@output_file("运维工作管理规范.xlsx", "空白工作簿的路径。")
def workbook_new(output: Path, force: bool) -> None:
    """写出空白数据工作簿：全部工作表、表头、填写提示和下拉列表。"""
    written = api.new_workbook(output, force=force)
    click.echo(f"{written.path}：空白工作簿{written.status.label}")


@main.command()
@click.argument("workbook_path", metavar="WORKBOOK", type=FILE)
@output_format()
@click.option("--strict", is_flag=True, help="警告也视为不通过。")
@skip_option(api.Stage.READ, api.Stage.RULES)
@config_option()
@annotate_option()
@force_option("允许覆盖已存在的标注副本（原工作簿从不覆盖）。")
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
    checked = api.check(workbook_path, api.CheckOptions(config=config, skip=skip, strict=strict))
    report = checked.report
    click.echo(report.to_json() if output_format == "json" else report.to_text())
    if annotate:  # after the findings: a copy that cannot be written leaves them printed
        _print_written([api.annotate(checked, annotate, force=force)])
    sys.exit(0 if report.passes(strict) else 1)


@main.command()
@click.argument("workbook_paths", metavar="WORKBOOK…", type=FILE, nargs=-1, required=True)
@click.option("-o", "--output-dir", type=FILE, metavar="DIR", default=Path("."), show_default=True, help="输出文件夹。")
@template_option()
@force_option("允许覆盖内容不同的同名文件（已发布的版本）。")
@click.option(
    "--draft",
    is_flag=True,
    help="有错误也生成草稿：缺少的值显示为“〔待填写〕”，页眉标注“草稿（未通过检查）”，文件名加“_草稿”。",
)
@click.option("--strict", is_flag=True, help="警告也阻止生成。")
@skip_option(api.Stage.READ, api.Stage.RULES)
@config_option()
@click.option("--dump-context", type=FILE, metavar="JSON", help="把交给模板的完整上下文写成 JSON（仅单个工作簿）。")
@click.option("--pdf", is_flag=True, help="同时用 LibreOffice 导出 PDF；目录写入实际页码。")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 64),
    metavar="N",
    default=1,
    show_default=True,
    help="批量生成时的并行进程数。",
)
@annotate_option("仅单个工作簿。")
@click.option(
    "--redline",
    type=FILE,
    metavar="ISSUED.docx",
    help="同时写出对比稿 {文件名}_对比稿.docx：与已发布版本的差异显示为修订（有 --pdf 时另出 PDF）。仅单个工作簿。",
)
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
    options = api.BuildOptions(
        config=config, skip=skip, strict=strict, template=template, force=force, draft=draft, pdf=pdf
    )
    sources = api.workbooks_in(workbook_paths)
    if len(workbook_paths) == 1 and sources == [workbook_paths[0]]:
        result = api.build(
            sources[0],
            output_dir,
            options,
            annotate=annotate,
            redline=redline,
            dump_context=dump_context,
            progress=_progress,
        )
        if result.report.findings:
            click.echo(result.report.to_text(), err=result.output is not None)
        _print_written(result.files)
        if result.output is None:
            click.echo("存在错误，未生成文档。请按上面的提示修改工作簿（或用 --draft 生成草稿预览）。", err=True)
            sys.exit(1)
        return
    for name, value in (("--dump-context", dump_context), ("--annotate", annotate), ("--redline", redline)):
        if value:
            raise click.UsageError(f"{name} 只能用于单个工作簿")
    if not sources:
        raise api.OpsdocError(workbook_paths[0], "文件夹中没有 .xlsx 工作簿")
    sys.exit(_build_batch(sources, output_dir, options, jobs))


def _build_batch(sources: list[Path], output_dir: Path, options: api.BuildOptions, jobs: int) -> int:
    """One line per workbook as it completes, a progress bar on stderr, and the worst exit code."""
    started, codes, count = time.perf_counter(), list[int](), len(sources)
    with click.progressbar(length=count, label="生成中", file=sys.stderr, show_pos=True) as bar:
        for item in api.build_batch(sources, output_dir, options, jobs=jobs):
            codes.append(item.exit_code)
            if item.error or item.result is None:
                line = f"✗ {item.source}：{item.error}"
            elif item.result.output is None:
                line = f"✗ {item.source}：{len(item.result.report.errors)} 个错误，未生成（opsdoc check 查看详情）"
            else:
                document = item.result.written(api.FileKind.DOCUMENT)
                assert document is not None
                line = f"✓ {item.source} → {document.path}（{document.status.label}）"
            click.echo(line)
            bar.update(1)
    built = codes.count(0)
    click.echo(
        f"共 {count} 个工作簿：成功 {built}，有错误未生成 {codes.count(1)}，"
        f"无法读取或写入 {len(codes) - built - codes.count(1)}；用时 {time.perf_counter() - started:.1f} 秒"
    )
    return max(codes)


@main.command()
@click.argument("docx_path", metavar="DOCX", type=FILE)
@template_option("对照的 Word 模板（默认：内置模板）。")
@click.option(
    "--workbook", "workbook_path", type=FILE, metavar="XLSX", help="生成该文档的工作簿：检查其中每个值都出现在文档中。"
)
@click.option(
    "--pdf",
    "pdf",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[PDF]",
    help="同时检查排版后的页面（封面一页、页眉一行、无空白页、标题不落在页底）：给出该文档的 PDF，或不带值由 LibreOffice 现场排版。",
)
@output_format()
@skip_option(api.Stage.VERIFY, help="不报告某个核对代码（可重复）。")
def verify(
    docx_path: Path,
    template: Path | None,
    workbook_path: Path | None,
    pdf: str | None,
    output_format: str,
    skip: tuple[str, ...],
) -> None:
    """对照模板（和工作簿）检查一份 .docx。退出码 0 通过，1 有问题，2 无法读取。"""
    report = api.verify(
        docx_path,
        template=template,
        workbook=workbook_path,
        skip=skip,
        pdf=Path(pdf) if pdf else None,
        lay_out=pdf == "",
        progress=_progress,
    )
    click.echo(report.to_json() if output_format == "json" else report.to_text())
    sys.exit(0 if report.passes() else 1)


NEW_TEMPLATE = "NEW 为工作簿时使用的 Word 模板（默认：内置模板）。"
NEW_CONFIG = "NEW 为工作簿时的公司约定配置文件（默认：工作簿旁的 opsdoc.toml）。"


@main.command("diff")
@click.argument("old", metavar="OLD.docx", type=FILE)
@click.argument("new", metavar="NEW", type=FILE)
@output_format()
@click.option(
    "--note", is_flag=True, help="只输出可填入“修订说明”的摘要：一行，各章以“；”分隔，可直接粘贴进一个单元格。"
)
@template_option(NEW_TEMPLATE)
@config_option(NEW_CONFIG)
def diff_command(
    old: Path, new: Path, output_format: str, note: bool, template: Path | None, config: Path | None
) -> None:
    """逐章比较两个版本：新增、删除、修改的段落和表格行，以及可填入“修订说明”的摘要。

    NEW 可以是 .docx，也可以是工作簿（.xlsx）：工作簿在内存中检查并生成后比较，不写任何文件；
    新版本的修订说明尚未填写（空、占位或“待填写”）时照样比较，并提示该单元格。
    退出码 0 完成，1 工作簿有（修订说明以外的）错误，2 无法读取。
    """
    compared = api.compare(old, new, api.CompareOptions(template=template, config=config))
    if compared.diff is None:
        assert compared.report is not None
        click.echo(compared.report.to_text(), err=True)
        click.echo("工作簿存在错误，无法生成新版本进行比较。请按上面的提示修改工作簿。", err=True)
        sys.exit(1)
    changes = compared.diff
    if compared.note_pending:
        click.echo(f"修订说明（{compared.note_pending}）尚未填写：下面的摘要可以填入该单元格。", err=True)
    if note and output_format == "text":
        if changes.note():  # none for identical versions: an empty note, not an empty line
            click.echo(changes.note())
    else:
        click.echo(changes.to_json() if output_format == "json" else changes.to_text())


@main.command("redline")
@click.argument("old", metavar="OLD.docx", type=FILE)
@click.argument("new", metavar="NEW", type=FILE)
@click.option("-o", "--output", type=FILE, required=True, metavar="对比稿.docx", help="对比稿的路径。")
@click.option("--pdf", is_flag=True, help="同时导出显示修订的 PDF（与 -o 同名，扩展名 .pdf）。")
@template_option(NEW_TEMPLATE)
@config_option(NEW_CONFIG)
@force_option("允许覆盖内容不同的同名对比稿。")
def redline_command(
    old: Path, new: Path, output: Path, pdf: bool, template: Path | None, config: Path | None, force: bool
) -> None:
    """写出对比稿：新版本（.docx 或工作簿），与 OLD 的每处差异显示为 Word 修订。

    全部接受即为新版本，全部拒绝即为旧版本；修订人、日期取新版本历史的最后一行。
    退出码 0 完成，1 工作簿有错误，2 无法读取或不能比较，3 拒绝覆盖。
    """
    options = api.RedlineOptions(template=template, config=config, force=force, pdf=pdf)
    result = api.redline(old, new, output, options, progress=_progress)
    if not result.files:
        assert result.report is not None
        click.echo(result.report.to_text(), err=True)
        click.echo("工作簿存在错误，未生成对比稿。请按上面的提示修改工作簿。", err=True)
        sys.exit(1)
    _print_written(result.files)


@main.command("issue")
@click.argument("workbook_path", metavar="WORKBOOK", type=FILE)
@archive_option(configured=True)
@template_option()
@config_option()
@by_option("发布人")
@click.option("--backdate", is_flag=True, help="确认生效日期早于发布当天（追溯生效），记入登记册。")
@click.option("--rename", is_flag=True, help="确认该文件编码下的文件名称改变（同一文件改名），记入登记册。")
def issue_command(
    workbook_path: Path,
    archive: Path | None,
    template: Path | None,
    config: Path | None,
    by: str | None,
    backdate: bool,
    rename: bool,
) -> None:
    """发布受控版本：检查（严格）、生成、核对、导出 PDF/A、归档并登记；新版本在生效日期生效，上一版本随之作废。

    退出码 0 已发布或已登记且相同，1 有问题未发布，2 无法读取或导出，3 该版本已发布且内容不同、已作废，或与登记册冲突。
    """
    options = api.IssueOptions(
        archive=archive, template=template, config=config, by=by, backdate=backdate, rename=rename
    )
    result = api.issue(workbook_path, options, progress=_progress)
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
        if entry.status == api.PENDING_EFFECT:
            click.echo(f"{entry.file_code} {entry.version}：待生效，{entry.effective_on} 起为现行版本")
    else:
        click.echo(f"{workbook_path}：{issued.outcome.label}", err=True)
    for voided in issued.superseded:
        click.echo(f"{voided.file_code} {voided.version}：已作废（作废副本 {voided.void_pdf_path}）")
    _echo_to_recall(issued.to_recall)
    sys.exit(1 if entry is None else 0)


def _echo_to_recall(copies: Sequence[api.Copy]) -> None:
    """The controlled copies of versions no longer in force that are still out."""
    for c in copies:
        where = f"（{c.department}）" if c.department else ""
        click.echo(f"待回收：{c.file_code} {c.version} 分发号 {c.number}  {c.holder}{where}  {c.count} 份")


@main.group("register", cls=Group)
def register_group() -> None:
    """受控文件清单：已发布版本的登记册。"""


@register_group.command("list")
@archive_option()
@on_option("列出该日各版本的状态（默认：今天）。")
@output_format()
def register_list(archive: Path, on: datetime | None, output_format: str) -> None:
    """列出各版本及其状态（待生效、现行、作废、撤销），最新的在前。"""
    import dataclasses
    import json

    rows = api.register_entries(archive, on=on.date() if on else None)
    if output_format == "json":
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], ensure_ascii=False, indent=2))
        return
    for r in rows:
        disposed = f"（{r.disposed_at[:10]} 已处置）" if r.disposed_at else ""
        click.echo(
            f"{r.status}{disposed}  {r.file_code}  {r.version}  {r.title}  发布日期 {r.approved_on}  生效 {r.effective_on}"
            f"  登记 {r.issued_at} {r.issued_by}"
        )
    click.echo(f"共 {len(rows)} 个版本" + (f"（{on.date().isoformat()} 的状态）" if on else ""))


@register_group.command("sync")
@archive_option()
def register_sync(archive: Path) -> None:
    """为今天已作废的版本生成作废副本（发布时也会自动进行）。退出码 0 完成，2 无法读取或写入、归档文件被改动，3 作废副本已存在但未登记。"""
    voided = api.sync_register(archive)
    for entry in voided:
        click.echo(f"{entry.file_code} {entry.version}：已作废（作废副本 {entry.void_pdf_path}）")
    click.echo(f"共 {len(voided)} 个版本生成了作废副本")
    _echo_to_recall([h.copy for h in api.copies(archive) if h.to_recall])


@register_group.command("withdraw")
@click.argument("file_code", metavar="文件编码")
@click.argument("version", metavar="版本号")
@archive_option()
@by_option("撤销人")
def register_withdraw(file_code: str, version: str, archive: Path, by: str | None) -> None:
    """撤销一个尚未生效（待生效）的版本；文件留在归档中，登记册记为撤销。退出码 0 已撤销，2 无此版本，3 该版本不是待生效。"""
    entry = api.withdraw(archive, file_code, version, by=by)
    click.echo(f"{entry.file_code} {entry.version}：已撤销（{entry.withdrawn_by}，{(entry.withdrawn_at or '')[:10]}）")
    withdrawn = (entry.file_code, entry.version)
    _echo_to_recall(
        [h.copy for h in api.copies(archive) if h.to_recall and (h.copy.file_code, h.copy.version) == withdrawn]
    )


@register_group.command("move")
@archive_option()
@click.option(
    "--to",
    "to",
    required=True,
    metavar="URL",
    help="空的 PostgreSQL 数据库，如 postgresql://opsdoc@db.example.com/受控登记册（密码可放在 ~/.pgpass 或 PGPASSWORD）。",
)
@by_option("迁移人")
def register_move(archive: Path, to: str, by: str | None) -> None:
    """把归档文件夹中的 SQLite 登记册整体迁移到服务器数据库（PostgreSQL），全部成功或全不改动。

    迁移后原文件不再接受写入，并写明登记册的去向；请在归档文件夹旁的 opsdoc.toml 中设置 register_url。退出码 0 已迁移，2 无法迁移。"""
    moved = api.move_register(archive, to, by=by)
    counts = "、".join(f"{table} {count} 行" for table, count in moved.rows.items())
    click.echo(f"登记册已迁移到 {moved.url}（{counts}）")
    click.echo(f'请在归档文件夹旁的 opsdoc.toml 中写入：register_url = "{moved.url}"')


@register_group.command("export")
@archive_option()
@output_file("受控文件清单.xlsx", "导出的工作簿。")
@config_option(REGISTER_CONFIG)
@by_option("制表人")
@on_option("清单反映该日的状态（默认：今天）。")
def register_export(
    archive: Path, output: Path, force: bool, config: Path | None, by: str | None, on: datetime | None
) -> None:
    """导出打印用的 受控文件清单.xlsx（A4 横向）：版本清单、分发回收记录、评审与保存。退出码 0 成功，2 无法读取，3 拒绝覆盖。"""
    written = api.export_register(archive, output, force=force, config=config, by=by, on=on.date() if on else None)
    click.echo(f"{written.path}：{written.status.label}")


@register_group.command("distribute")
@click.argument("file_code", metavar="文件编码")
@click.argument("version", metavar="版本号")
@click.option("--to", "holder", required=True, metavar="NAME", help="接收人。")
@click.option("--dept", "department", default="", metavar="DEPT", help="接收部门。")
@click.option("--copies", "count", type=click.IntRange(min=1), default=1, show_default=True, metavar="N", help="份数。")
@click.option("--uncontrolled", is_flag=True, help="非受控副本（仅供参考）：无分发号，不回收。")
@click.option(
    "-o", "--output", type=FILE, metavar="DIR", default=Path("."), show_default=True, help="副本 PDF 写入的文件夹。"
)
@archive_option()
@on_option("分发日期（默认：今天）。")
@by_option("分发人")
@force_option("覆盖内容不同的同名副本。")
def register_distribute(
    file_code: str,
    version: str,
    holder: str,
    department: str,
    count: int,
    uncontrolled: bool,
    output: Path,
    archive: Path,
    on: datetime | None,
    by: str | None,
    force: bool,
) -> None:
    """分发一份副本：由归档原件制作 PDF，每页标明“受控（分发号 NNN）”或“非受控（仅供参考）”，并登记接收人。

    退出码 0 已分发，2 无此版本、无法读取或导出，3 该版本不是现行或待生效、拒绝覆盖。
    """
    handout = api.Handout(
        holder=holder,
        department=department,
        count=count,
        controlled=not uncontrolled,
        on=on.date() if on else None,
        by=by,
    )
    done = api.distribute(archive, file_code, version, output, handout, force=force, progress=_progress)
    copy = done.copy
    what = f"分发号 {copy.number}" if copy.number else "非受控副本"
    click.echo(
        f"{copy.file_code} {copy.version} {what}：{copy.holder} {copy.count} 份（{done.path}：{done.status.label}）"
    )


@register_group.command("recall")
@click.argument("file_code", metavar="文件编码")
@click.argument("version", metavar="版本号")
@click.argument("number", metavar="分发号")
@archive_option()
@on_option("回收日期（默认：今天）。")
@by_option("回收人")
def register_recall(
    file_code: str, version: str, number: str, archive: Path, on: datetime | None, by: str | None
) -> None:
    """登记受控副本的回收。退出码 0 已回收，2 无此副本，3 已回收过。"""
    copy = api.recall(archive, file_code, version, number, on=on.date() if on else None, by=by)
    click.echo(f"{copy.file_code} {copy.version} 分发号 {copy.number}：已回收（{copy.recalled_on} {copy.recalled_by}）")


@register_group.command("copies")
@archive_option()
@click.option("--recall", "to_recall", is_flag=True, help="只列出待回收的受控副本。")
@on_option("列出该日的情况（默认：今天）。")
@output_format()
def register_copies(archive: Path, to_recall: bool, on: datetime | None, output_format: str) -> None:
    """列出分发的副本：在用、待回收（版本已作废或撤销）、已回收、非受控。退出码 0 无待回收，1 有待回收，2 无法读取。"""
    import dataclasses
    import json

    found = api.copies(archive, on=on.date() if on else None)
    shown = [h for h in found if h.to_recall] if to_recall else found
    if output_format == "json":
        rows = [
            {**dataclasses.asdict(h.copy), "version_status": h.version_status, "to_recall": h.to_recall} for h in shown
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for h in shown:
            c = h.copy
            if not c.controlled:
                state = "非受控"
            elif c.recalled_on:
                state = f"已回收 {c.recalled_on}"
            else:
                state = "待回收" if h.to_recall else "在用"
            number = f"分发号 {c.number}" if c.number else "无分发号"
            click.echo(
                f"{state}  {c.file_code}  {c.version}（{h.version_status}）  {number}  {c.holder}"
                f"{f'（{c.department}）' if c.department else ''}  {c.count} 份  分发 {c.distributed_on}"
            )
        click.echo(f"共 {len(shown)} 份，其中待回收 {sum(h.to_recall for h in shown)} 份")
    sys.exit(1 if any(h.to_recall for h in found) else 0)


@register_group.command("due")
@archive_option()
@on_option("以该日为准（默认：今天）。")
@click.option(
    "--within",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    metavar="DAYS",
    help="列出多少天内到期的评审。",
)
@config_option(REGISTER_CONFIG)
@output_format()
def register_due(archive: Path, on: datetime | None, within: int, config: Path | None, output_format: str) -> None:
    """列出到期事项：定期评审（到期或逾期）、待回收的受控副本、保存期满可处置的作废版本。

    评审周期和保存期限见 opsdoc.toml（review_months，默认 12；retention_years，默认 3）。退出码 0 无到期事项，1 有，2 无法读取。
    """
    import dataclasses
    import json

    found = api.due(archive, config=config, on=on.date() if on else None, soon=within)
    if output_format == "json":
        click.echo(json.dumps([dataclasses.asdict(d) for d in found], ensure_ascii=False, indent=2))
    else:
        for d in found:
            when = f"已逾期（{d.by}）" if d.overdue else f"{d.by} 到期"
            if d.duty is api.Duty.RECALL:
                when = f"自 {d.by} 起"
            click.echo(f"{d.duty.label}  {d.file_code}  {d.version}  {when}：{d.what}")
        click.echo(f"共 {len(found)} 项到期事项")
    sys.exit(1 if found else 0)


@register_group.command("review")
@click.argument("file_code", metavar="文件编码")
@click.argument("version", metavar="版本号")
@click.option("--conclusion", default="继续适用", show_default=True, metavar="NOTE", help="评审结论。")
@archive_option()
@on_option("评审日期（默认：今天）。")
@by_option("评审人")
def register_review(
    file_code: str, version: str, conclusion: str, archive: Path, on: datetime | None, by: str | None
) -> None:
    """登记对现行版本的定期评审（结论为继续适用）；需要修改的，发布新版本。退出码 0 已登记，2 无此版本，3 不是现行版本。"""
    found = api.review(archive, file_code, version, conclusion=conclusion, on=on.date() if on else None, by=by)
    click.echo(
        f"{found.file_code} {found.version}：已登记定期评审（{found.reviewed_on} {found.reviewed_by}：{found.conclusion}）"
    )


@register_group.command("dispose")
@click.argument("file_code", metavar="文件编码")
@click.argument("version", metavar="版本号")
@archive_option()
@config_option(REGISTER_CONFIG)
@by_option("处置人")
def register_dispose(file_code: str, version: str, archive: Path, config: Path | None, by: str | None) -> None:
    """处置保存期满的作废或撤销版本：登记册保留记录；文件按 opsdoc.toml 的 dispose_files 保留或删除。

    退出码 0 已处置，2 无此版本，3 不是作废或撤销、保存期未满、有副本未回收或已处置。
    """
    entry = api.dispose(archive, file_code, version, config=config, by=by)
    files = "文件已删除" if entry.files_removed else "文件保留在归档中"
    click.echo(
        f"{entry.file_code} {entry.version}：已处置（{(entry.disposed_at or '')[:10]} {entry.disposed_by}，{files}）"
    )


@register_group.command("verify")
@archive_option()
@output_format()
def register_verify(archive: Path, output_format: str) -> None:
    """重新计算归档中每个文件的 SHA-256 并与登记册核对。退出码 0 一致，1 有缺失、改动或未登记的文件，2 无法读取。"""
    report = api.verify_archive(archive)
    click.echo(report.to_json() if output_format == "json" else report.to_text())
    sys.exit(0 if report.passes() else 1)


@main.group("template", cls=Group)
def template_group() -> None:
    """Word 模板。"""


@template_group.command("check")
@click.argument("template_path", metavar="TEMPLATE", type=FILE, required=False)
@skip_option(api.Stage.TEMPLATE, help="不报告某个模板检查代码（可重复）。")
def template_check(template_path: Path | None, skip: tuple[str, ...]) -> None:
    """检查公司 Word 模板：用到的名称、十个章节、目录域（默认检查内置模板）。退出码 0 通过，1 有问题，2 无法读取。"""
    report = api.check_template(template_path, skip=skip)
    click.echo(report.to_text())
    sys.exit(0 if report.passes() else 1)


@main.command("import")
@click.argument("source", metavar="DOCX", type=FILE)
@click.option("-o", "--output", type=FILE, metavar="XLSX", help="写出的工作簿（默认：与文档同名的 .xlsx）。")
@template_option("文档所依据的 Word 模板（默认：内置模板）。")
@config_option("公司约定配置文件，其 [synonyms] 补充表头和章节的同义词（默认：文档旁的 opsdoc.toml）。")
@force_option("覆盖已存在的工作簿。")
@output_format()
def import_command(
    source: Path, output: Path | None, template: Path | None, config: Path | None, force: bool, output_format: str
) -> None:
    """把已有的运维工作管理规范（.docx，或经 LibreOffice 转换的 .doc/.wps）导入为数据工作簿。

    表头和章节标题按模板、同义词和相似度对应；放不进的内容都会报告，从不猜测。
    退出码 0 全部导入，1 有内容需要补填，2 无法读取，3 未覆盖。
    """
    import json

    result = api.import_document(source, output, template=template, force=force, config=config)
    report = result.report
    if output_format == "json":
        click.echo(
            json.dumps({"summary": result.summary, **json.loads(report.to_json())}, ensure_ascii=False, indent=2)
        )
    else:  # the summary first: how much landed, and whether the document follows the template at all
        click.echo(f"{source}：{result.summary}\n{report.to_text()}")
    click.echo(f"{result.file.path}：已写出工作簿；下一步：opsdoc check {result.file.path}", err=True)
    sys.exit(0 if not report.findings else 1)


@main.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, metavar="ADDR", help="监听地址（0.0.0.0：局域网内可访问）。"
)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, metavar="PORT", help="端口。")
@click.option(
    "--data",
    type=FILE,
    metavar="DIR",
    default=Path("opsdoc-web"),
    show_default=True,
    help="账户、操作日志和上传文件的文件夹。",
)
@archive_option()
@config_option("公司约定配置文件（检查和发布时使用）。")
@click.option("--https", is_flag=True, help="在终止 HTTPS 的反向代理之后运行：Cookie 只经 HTTPS 发送，记录访问者地址。")
@click.option(
    "--demo",
    type=FILE,
    metavar="WORKBOOK",
    help="试用：首次启动时为每个角色建立账户（显示其密码），并把该工作簿发布到归档（默认归档为 --data 下的 归档）。",
)
def serve_command(
    host: str, port: int, data: Path, archive: Path, config: Path | None, https: bool, demo: Path | None
) -> None:
    """启动网页：登录后按角色检查工作簿、下载标注副本、发布版本、查阅受控文件清单和操作日志。

    先用 opsdoc user add 建立账户（或用 --demo 试用）。按 Ctrl-C 停止。退出码 0 正常停止，2 缺少网页所需的软件包或无法准备演示。
    """
    from opsdoc import web

    if demo is not None:
        if click.get_current_context().get_parameter_source("archive") is click.core.ParameterSource.DEFAULT:
            archive = data / "归档"
        for line in web.prepare_demo(data, archive, demo, lambda said: click.echo(said, err=True)):
            click.echo(f"演示账号：{line}", err=True)
    click.echo(f"opsdoc 网页：http://{host}:{port}/（归档 {archive}，数据 {data}）；按 Ctrl-C 停止", err=True)
    web.serve(data, archive, config, host, port, https)


@main.command("office")
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=os.cpu_count() or 1,
    show_default="CPU 核数",
    metavar="N",
    help="常驻的 LibreOffice 个数（--pdf --jobs N 时取 N）。",
)
def office_command(workers: int) -> None:
    """让 LibreOffice 常驻：本用户的每次 PDF 导出（build --pdf、issue、分发副本、网页预览）都交给它，省去每次数秒的启动。

    导出结果与不常驻时逐字节相同。按 Ctrl-C 停止。退出码 0 正常停止，2 缺少 LibreOffice 或已有一个在运行。
    """
    api.keep_office_warm(
        workers,
        lambda where: click.echo(
            f"opsdoc office：{workers} 个 LibreOffice 已就绪（{where}）；按 Ctrl-C 停止", err=True
        ),
    )


@main.group("user", cls=Group)
def user_group() -> None:
    """网页的账户。"""


@user_group.command("add")
@click.argument("name", metavar="NAME")
@click.option(
    "--role",
    type=click.Choice(["manager", "controller", "qa", "auditor"]),
    required=True,
    help="角色：manager 服务项目经理，controller 文控，qa QA，auditor 审计。",
)
@click.option(
    "--data", type=FILE, metavar="DIR", default=Path("opsdoc-web"), show_default=True, help="网页的数据文件夹。"
)
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（脚本用）；否则提示输入两次。")
def user_add(name: str, role: str, data: Path, password_stdin: bool) -> None:
    """添加网页账户（密码只保存其加盐散列）。退出码 0 已添加，2 输入有误，3 用户已存在或密码太短。"""
    from opsdoc import web

    label = web.add_user(data, name, role, _password(password_stdin))
    click.echo(f"{name}：已添加（{label}）")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次"))


@user_group.command("passwd")
@click.argument("name", metavar="NAME")
@click.option(
    "--data", type=FILE, metavar="DIR", default=Path("opsdoc-web"), show_default=True, help="网页的数据文件夹。"
)
@click.option("--password-stdin", is_flag=True, help="从标准输入读取新密码（脚本用）；否则提示输入两次。")
def user_passwd(name: str, data: Path, password_stdin: bool) -> None:
    """设置新密码；该用户已登录的会话全部失效。退出码 0 已设置，3 没有该用户或密码太短。"""
    from opsdoc import web

    web.set_password(data, name, _password(password_stdin))
    click.echo(f"{name}：已设置新密码，原有登录已失效")


@user_group.command("remove")
@click.argument("name", metavar="NAME")
@click.option(
    "--data", type=FILE, metavar="DIR", default=Path("opsdoc-web"), show_default=True, help="网页的数据文件夹。"
)
def user_remove(name: str, data: Path) -> None:
    """删除账户；其登录立即失效，操作日志保留。退出码 0 已删除，3 没有该用户。"""
    from opsdoc import web

    web.remove_user(data, name)
    click.echo(f"{name}：已删除，登录已失效")


@main.command("rules")
@output_format("text", "json", "markdown")
def list_rules(output_format: str) -> None:
    """列出全部代码及其所属步骤：读取工作簿、一致性规则（check/build）、文档核对（verify）、模板检查（template check）。"""
    import json

    codes = api.finding_codes()
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
