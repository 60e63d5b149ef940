"""click's own messages in Chinese: every msgid of the installed click is translated and shown."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from opsdoc.click_zh import CHINESE, MODULES, use_chinese

PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\(\w+\)s")
CLICK_ENGLISH = re.compile(
    r"\b(Usage|Options|Commands|Error|Missing|Invalid|No such|Show|help|Try|does not exist|default|required|Aborted|version|Choose)\b"
)
# The demo's own names, and the metavars click writes without gettext (cli.py can pass options_metavar).
NOT_CLICK_PROSE = {"demo", "run", "fast", "slow", "quick", "nope", "NAME", "SOURCE", "txt"}
METAVARS = {"OPTIONS", "COMMAND", "ARGS", "INTEGER"}
EXISTING = str(Path(__file__))
# click passes these to _() through a variable, so the source scan cannot see them.
DYNAMIC_MSGIDS = {"required"}


def click_msgids() -> set[str]:
    msgids = set(DYNAMIC_MSGIDS)
    for source in Path(click.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "ngettext"):
                literals = node.args[:1] if node.func.id == "_" else node.args[:2]
                msgids.update(
                    arg.value for arg in literals if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                )
    return msgids


def test_every_click_msgid_is_translated() -> None:
    assert sorted(click_msgids() - CHINESE.keys()) == []


def test_translations_keep_the_placeholders() -> None:
    changed = {
        msgid: zh
        for msgid, zh in CHINESE.items()
        if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(zh))
    }
    assert changed == {}


def test_nothing_is_left_in_english() -> None:
    assert [msgid for msgid, zh in CHINESE.items() if zh == msgid and re.search("[A-Za-z]", msgid)] == []


def test_use_chinese_is_idempotent_and_falls_back_to_english() -> None:
    use_chinese()
    use_chinese()
    # click's modules re-export nothing of gettext, hence vars() rather than attributes.
    assert vars(click.formatting)["_"]("Usage:") == "用法:"
    assert (
        vars(click.exceptions)["ngettext"]("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 2)
        == "（是否想用其中之一：{possibilities}？）"
    )
    assert vars(click.core)["_"]("not a click message") == "not a click message"


def demo() -> click.Group:
    # Declared after use_chinese(): click translates --version's help and Path's name as they are created.
    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option("1.0", prog_name="demo")
    def cli() -> None:
        """演示程序。"""

    @cli.command()
    @click.argument("name")
    @click.argument("source", type=click.Path(exists=True))
    @click.option("--count", default=3, show_default=True, help="次数。")
    @click.option("--mode", type=click.Choice(["fast", "slow"]), help="模式。")
    def run(name: str, source: str, count: int, mode: str | None) -> None:
        """运行一次。"""

    return cli


@pytest.mark.parametrize(
    ("args", "chinese"),
    [
        (["--help"], ["用法:", "选项:", "命令:", "显示此帮助并退出。", "显示版本并退出。"]),
        (["run", "--help"], ["用法:", "选项:", "默认：3", "显示此帮助并退出。"]),
        (["--version"], ["demo，版本 1.0"]),
        (
            ["run"],
            [
                "错误：缺少参数 'NAME'.",  # click adds that full stop itself
                "运行 'demo run --help' 查看帮助。",
            ],
        ),
        (["run", "x", EXISTING, "--cuont", "2"], ["错误：没有选项 '--cuont'。", "是否想用 '--count'？"]),
        (["run", "x", EXISTING, "--mode", "quick"], ["错误：'--mode' 的值无效：'quick' 不是 'fast', 'slow' 之一。"]),
        (["run", "x", "缺失.txt"], ["错误：'SOURCE' 的值无效：路径 '缺失.txt' 不存在。"]),
        (["nope"], ["错误：没有命令 'nope'。"]),
    ],
)
def test_click_speaks_chinese(args: list[str], chinese: list[str]) -> None:
    use_chinese()
    output = CliRunner().invoke(demo(), args, prog_name="demo").output
    prose = re.sub(r"--?\w[\w-]*", "", output)  # option names such as --help are not click's English
    assert CLICK_ENGLISH.findall(prose) == [], output
    assert set(re.findall(r"[A-Za-z]{3,}", prose)) - NOT_CLICK_PROSE - METAVARS == set(), output
    assert [text for text in chinese if text not in output] == [], output


def test_the_modules_patched_are_the_ones_that_use_gettext() -> None:
    package = Path(click.__file__).parent
    using = {
        ".".join(("click", *source.relative_to(package).with_suffix("").parts)).removesuffix(".__init__")
        for source in package.rglob("*.py")
        if b"gettext" in source.read_bytes()
    }
    assert using - {"click._winconsole"} == set(MODULES)
