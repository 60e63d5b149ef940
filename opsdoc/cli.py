"""The opsdoc command line: each command calls one library function and prints its report."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from opsdoc.errors import OpsdocError

FILE = click.Path(path_type=Path)


def _handles_errors(command):
    """Turn a "cannot continue" error into one clear line and its exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
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
def main():
    """opsdoc：由数据工作簿生成受控的《运维工作管理规范》Word 文档。"""


@main.group()
def workbook():
    """数据工作簿（Excel）。"""


@workbook.command("new")
@click.option("-o", "--output", type=FILE, default=Path("运维工作管理规范.xlsx"), show_default=True)
@click.option("--force", is_flag=True, help="覆盖已存在的文件。")
@_handles_errors
def workbook_new(output: Path, force: bool):
    """写出空白数据工作簿：全部工作表、表头、填写提示和下拉列表。"""
    from opsdoc.blank_workbook import new_workbook
    from opsdoc.errors import IssuedVersionExists
    from opsdoc.output import write_atomic

    if output.exists() and not force:
        raise IssuedVersionExists(output, "文件已存在（可能是已填写的工作簿），未覆盖；确需覆盖请加 --force")
    write_atomic(output, new_workbook())
    click.echo(f"{output}：已写出空白工作簿")


@main.command()
@click.argument("workbook_path", metavar="WORKBOOK", type=FILE)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="警告也视为不通过。")
@click.option("--skip", multiple=True, metavar="CODE", help="不执行某条规则（可重复）。")
@click.option("--config", type=FILE, help="公司约定配置文件（默认：工作簿旁的 opsdoc.toml）。")
@_handles_errors
def check(workbook_path: Path, output_format: str, strict: bool, skip: tuple[str, ...], config: Path | None):
    """检查工作簿：读取、校验并执行全部一致性规则。退出码 0 通过，1 有错误，2 无法读取。"""
    from opsdoc.pipeline import check as run_check

    report = run_check(workbook_path, config=config, skip=_known_codes(skip)).report
    click.echo(report.to_json() if output_format == "json" else report.to_text())
    sys.exit(0 if report.passes(strict) else 1)


@main.command()
@click.argument("workbook_path", metavar="WORKBOOK", type=FILE)
@click.option("-o", "--output-dir", type=FILE, default=Path("."), show_default=True, help="输出文件夹。")
@click.option("--template", type=FILE, help="公司自己的 Word 模板（.docx，含 docxtpl 标签）。")
@click.option("--force", is_flag=True, help="允许覆盖内容不同的同名文件（已发布的版本）。")
@click.option("--draft", is_flag=True, help="有错误也生成草稿：页眉标注“草稿（未通过检查）”，文件名加“_草稿”。")
@click.option("--strict", is_flag=True, help="警告也阻止生成。")
@click.option("--skip", multiple=True, metavar="CODE", help="不执行某条规则（可重复）。")
@click.option("--config", type=FILE, help="公司约定配置文件（默认：工作簿旁的 opsdoc.toml）。")
@_handles_errors
def build(workbook_path, output_dir, template, force, draft, strict, skip, config):
    """检查工作簿并生成受控的 .docx。退出码 0 成功，1 有错误未生成，2 无法读取，3 拒绝覆盖已发布版本。"""
    from opsdoc.pipeline import build as run_build

    result = run_build(
        workbook_path, output_dir, template=template, config=config, force=force, draft=draft, strict=strict,
        skip=_known_codes(skip),
    )
    if result.report.findings:
        click.echo(result.report.to_text(), err=result.output is not None)
    if result.output is None:
        click.echo("存在错误，未生成文档。请按上面的提示修改工作簿（或用 --draft 生成草稿预览）。", err=True)
        sys.exit(1)
    words = {"written": "已生成", "unchanged": "内容相同，未改动", "overwritten": "已覆盖"}
    click.echo(f"{result.output}：{words[result.status]}")


@main.command("rules")
def list_rules():
    """列出全部规则代码、级别和标题。"""
    from opsdoc.rules import RULES

    for rule in RULES.values():
        click.echo(f"{rule.code:<24} {rule.severity.value}  {rule.title}")


def _known_codes(codes: tuple[str, ...]) -> tuple[str, ...]:
    from opsdoc.rules import RULES

    unknown = [c for c in codes if c not in RULES]
    if unknown:
        raise click.BadParameter(f"未知的规则代码：{', '.join(unknown)}（opsdoc rules 列出全部代码）", param_hint="--skip")
    return codes
