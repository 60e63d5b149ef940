"""Simplified Chinese for click's own messages: usage, help headings, errors and prompts."""

from __future__ import annotations

import gettext
import importlib

# Every msgid the installed click passes to gettext; tests/test_click_zh.py fails on any a click upgrade adds.
CHINESE: dict[str, str] = {
    # core.py
    "Usage:": "用法:",  # click writes the headings below as "选项:", so this colon matches them
    "Options": "选项",
    "Commands": "命令",
    "Aborted!": "已中止！",
    "Missing command.": "缺少命令。",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
    "Value must be an iterable.": "值必须是可迭代对象。",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，却给了 {len} 个。",
    "env var: {var}": "环境变量：{var}",
    "default: {default}": "默认：{default}",
    # Not a literal in click: Option.get_help_extra stores "required" and get_help_record passes it to _().
    "required": "必填",
    "(dynamic)": "（动态）",
    "deprecated": "已弃用",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}": "弃用警告：命令 {name!r} 已弃用。{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}": "弃用警告：{param_type} {name!r} 已弃用。{extra_message}",
    "Could not determine name for option with declarations {decls!r}": "无法从声明 {decls!r} 确定选项名称",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument instead? Did you mean to pass '--{name}'?": "未定义任何选项，却给出了名称（{name}）。是想声明参数，还是想写成 '--{name}'？",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.": "参数只能有一个声明，实际有 {length} 个：{decls}。",
    "Name '{name}' defined twice": "名称 '{name}' 重复定义",
    "Boolean option {decl!r} cannot use the same flag for true/false.": "布尔选项 {decl!r} 的真、假两个开关不能相同。",
    # decorators.py
    "Show this message and exit.": "显示此帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "直接确认，不再询问。",
    # exceptions.py
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看帮助。",
    "Invalid value: {message}": "值无效：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少 {param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "Did you mean {possibility}?": "是否想用 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是否想用其中之一：{possibilities}？）",
    "unknown error": "未知错误",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    # parser.py
    "Invalid start character for option ({option})": "选项的首字符无效（{option}）",
    "Option {name!r} does not take a value.": "选项 {name!r} 不接受值。",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    # types.py; "file", "directory" and "path" are both the {name} of the messages below and the metavar.
    "file": "文件",
    "directory": "目录",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是目录。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 不可写。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
    "Choose from:\n\t{choices}": "可选值：\n\t{choices}",
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不是 {choices} 之一。",
    "Choice({choices})": "选择({choices})",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合格式 {formats} 中的任何一种。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "{value!r} 不是有效的布尔值。可用的值：{states}",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的 {number_type}。",
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "{len_type} values are required, but {len_value} was given.": "需要 {len_type} 个值，只给了 {len_value} 个。",
    "{len_type} values are required, but {len_value} were given.": "需要 {len_type} 个值，却给了 {len_value} 个。",
    # termui.py, _termui_impl.py, shell_completion.py, utils.py, _winconsole.py
    "Repeat for confirmation": "请再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入的值不一致。",
    "Error: invalid input": "错误：输入无效",
    "Press any key to continue...": "按任意键继续……",
    "Unknown color {colour!r}": "未知颜色 {colour!r}",
    "d": "天",  # the days of a progress bar's ETA: "2天 03:04:05"
    "{editor}: Editing failed": "{editor}：编辑失败",
    "{editor}: Editing failed: {e}": "{editor}：编辑失败：{e}",
    "Couldn't detect Bash version, shell completion is not supported.": "无法检测 Bash 版本，不支持 Shell 补全。",
    "Shell completion is not supported for Bash versions older than 4.4.": "Bash 4.4 以下的版本不支持 Shell 补全。",
    "Unknown standard stream '{name}'": "未知的标准流 '{name}'",
    "Windows error: {error}": "Windows 错误：{error}",
}


def _gettext(message: str) -> str:
    return CHINESE.get(message, message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    # Chinese has no plural, but the two msgids format different placeholders: take the one click formats.
    return _gettext(singular if n == 1 else plural)


# The click modules that take their messages from gettext; tests/test_click_zh.py holds the list
# to the installed click, so no file is read at every start (_winconsole only runs on Windows).
MODULES = (
    "click.core", "click.decorators", "click.exceptions", "click.formatting", "click.parser",
    "click.shell_completion", "click.termui", "click.types", "click.utils", "click._termui_impl",
)  # fmt: skip


def use_chinese() -> None:
    """Make click speak Chinese in this process.

    Call it before the commands are declared: click translates an option's help
    (--version, --yes) and click.Path's name when the decorator or type is created.
    """
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, english, chinese in (("_", gettext.gettext, _gettext), ("ngettext", gettext.ngettext, _ngettext)):
            # Only gettext's own functions, or ours from an earlier call: a "_" that is something else stays.
            if vars(module).get(name) in (english, chinese):
                setattr(module, name, chinese)
