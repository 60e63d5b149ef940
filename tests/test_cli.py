"""The command line's conventions: help that describes every command, Chinese throughout, the
version of what opsdoc carries, shell completion, and one error boundary."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import click
import pytest
from click.testing import CliRunner

import opsdoc.api
from opsdoc.cli import main
from tests.support import SAMPLE, uno_python

ENGLISH = re.compile(
    r"\b(Usage|Options|Commands|Error|Missing|Invalid|No such|Show this|Try|Aborted|TEXT|INTEGER|RANGE|PATH|FILENAME)\b"
)


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def test_the_help_lists_every_command_with_what_it_does():
    listed = CliRunner().invoke(main, ["--help"]).output
    for (name,) in [c for c in _commands(main) if len(c) == 1]:
        line = next(line for line in listed.splitlines() if line.strip().startswith(name + " "))
        description = line.strip()[len(name) :].strip()
        assert len(description) >= 4 and "..." not in description, line


def test_every_help_page_is_in_chinese():
    for path in [(), *_commands(main)]:
        page = CliRunner().invoke(main, [*path, "--help"])
        assert page.exit_code == 0, path
        assert "用法" in page.output and "选项" in page.output, path
        assert not ENGLISH.search(page.output), (path, ENGLISH.search(page.output))
        # every option says what it is for (a metavar in Chinese would misalign the columns)
        for option in [p for p in _command(path).params if isinstance(p, click.Option)]:
            assert option.help, (path, option.name)


def test_usage_errors_are_in_chinese():
    for arguments in (["check"], ["build", "--nope"], ["check", str(SAMPLE), "--format", "xml"], ["nothing"]):
        result = CliRunner().invoke(main, arguments)
        assert result.exit_code == 2, arguments
        assert "错误" in result.output and not ENGLISH.search(result.output), (arguments, result.output)


def test_version_names_the_template_and_the_contract():
    known = opsdoc.api.versions()
    assert CliRunner().invoke(main, ["--version"]).output.splitlines() == [
        f"opsdoc {known.opsdoc}",
        f"内置 Word 模板 {known.template}",
        f"工作簿契约 {known.contract}",
    ]


def test_shell_completion_completes_commands_and_options():
    environment = {"_OPSDOC_COMPLETE": "bash_complete", "COMP_WORDS": "opsdoc reg", "COMP_CWORD": "1"}
    completed = CliRunner().invoke(main, [], env=environment, prog_name="opsdoc")
    assert "plain,register" in completed.output.splitlines()
    environment = {"_OPSDOC_COMPLETE": "bash_complete", "COMP_WORDS": "opsdoc build --dr", "COMP_CWORD": "2"}
    assert "plain,--draft" in CliRunner().invoke(main, [], env=environment, prog_name="opsdoc").output.splitlines()
    script = CliRunner().invoke(main, [], env={"_OPSDOC_COMPLETE": "bash_source"}, prog_name="opsdoc")
    assert "_opsdoc_completion" in script.output


def test_an_internal_error_is_one_line_with_exit_2(monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(opsdoc.api, "check", broken)
    monkeypatch.delenv("OPSDOC_DEBUG", raising=False)
    result = CliRunner().invoke(main, ["check", str(SAMPLE)])
    assert result.exit_code == 2
    assert result.output.strip() == "内部错误：RuntimeError: boom（设置 OPSDOC_DEBUG=1 查看详情并报告此问题）"


def test_ctrl_c_is_exit_130_without_a_traceback(monkeypatch):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(opsdoc.api, "verify", interrupted)
    result = CliRunner().invoke(main, ["verify", str(SAMPLE)])
    assert result.exit_code == 130
    assert result.output.strip() == "已中断：未完成的操作没有写入任何文件。"


@pytest.mark.parametrize("after", [0.05, 0.4, 1.5, 3.0])
def test_ctrl_c_at_any_moment_of_an_issue_is_exit_130_and_leaves_nothing(tmp_path, after):
    """SIGINT to the whole process group, as a terminal sends it, while opsdoc loads, checks, lays out or files."""
    uno_python()
    workbook = tmp_path / SAMPLE.name
    shutil.copyfile(SAMPLE, workbook)
    archive = tmp_path / "归档"
    process = subprocess.Popen(
        [sys.executable, "-m", "opsdoc", "issue", str(workbook), "--archive", str(archive), "--backdate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=tmp_path,
    )
    time.sleep(after)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert "Traceback" not in out + err, err
    if process.returncode == 0:  # it finished before the signal: a whole release
        assert "已发布并登记" in out
        return
    # Interrupted in the last moments of exiting, Python dies of the signal itself (-2), which a shell
    # reports as 130 too; there is then nothing left to say.
    assert process.returncode in (130, -signal.SIGINT), (process.returncode, err)
    if process.returncode == 130:
        assert err.strip().endswith("已中断：未完成的操作没有写入任何文件。")
    left = [p.name for p in archive.rglob("*")] if archive.exists() else []
    assert not [name for name in left if name.startswith(".opsdoc-")], left


def test_version_from_a_checkout_never_installed(monkeypatch):
    from importlib import metadata

    def missing(_name):
        raise metadata.PackageNotFoundError("opsdoc")

    monkeypatch.setattr(metadata, "version", missing)
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("opsdoc （未安装，源码运行）")
