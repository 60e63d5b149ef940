"""What `pip install .` gives: the wheel built from the files a clone has, installed into a fresh
virtual environment, runs every command on the sample from a folder outside the checkout.

The rest of the suite runs on the checkout (pip install -e, pythonpath), which would hide a
module or a data file the wheel leaves out; these tests see only what a user installs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.support import NEW_VERSION, P1_FASTER, REPO, SAMPLE, edit_sample, uno_python

# What no command may print, whatever its exit code.
BROKEN = ("内部错误", "Traceback", "ModuleNotFoundError", "ImportError")


def _clone_files() -> list[str]:
    """The files a fresh clone of the working tree would hold: tracked, and new ones git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel that `pip install .` would build, built from a copy of the clone's files."""
    source = tmp_path_factory.mktemp("clone")
    for name in _clone_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = dist.glob("opsdoc-*.whl")
    return built


def test_the_wheel_holds_every_file_of_the_package(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {name for name in _clone_files() if name.startswith("opsdoc/")}
    shipped |= {
        f"opsdoc/{name}"
        for name in _clone_files()
        if name.startswith(("word_templates/", "workbook_templates/")) and name.endswith((".py", ".docx", ".xlsx"))
    }
    assert {"opsdoc/control/issue.py", "opsdoc/importer/legacy.py", "opsdoc/generate/fonts.conf"} <= shipped
    assert sorted(shipped - names) == []
    (entry_points,) = (n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "opsdoc = opsdoc.__main__:run" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with only the wheel and what it requires: the `opsdoc` it installs."""
    environment = tmp_path_factory.mktemp("venv")
    venv.create(environment, with_pip=True, clear=True)
    python = environment / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True, capture_output=True, timeout=900
    )
    return environment / "bin" / "opsdoc"


def _outside_env() -> dict[str, str]:
    """The environment a user's shell gives: no path into the checkout, no debug switch."""
    return {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "OPSDOC_DEBUG", "PYTHONHOME"}}


def _run(opsdoc: Path, folder: Path, *arguments: str, code: int = 0) -> str:
    result = subprocess.run(
        [str(opsdoc), *arguments], cwd=folder, env=_outside_env(), capture_output=True, text=True, timeout=600
    )
    printed = result.stdout + result.stderr
    shown = f"opsdoc {' '.join(arguments)} → exit {result.returncode}\n{printed}"
    assert not any(word in printed for word in BROKEN), shown
    assert result.returncode == code, shown
    return printed


def test_the_installed_package_is_not_the_checkout(installed: Path, tmp_path: Path):
    python = installed.parent / "python"
    where = subprocess.run(
        [str(python), "-c", "import opsdoc; print(opsdoc.__file__)"],
        cwd=tmp_path,
        env=_outside_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed.parent.parent), where


def test_every_command_runs_on_the_sample_from_outside_the_checkout(installed: Path, tmp_path: Path):
    uno_python()  # build --pdf and issue lay the document out with LibreOffice
    work = tmp_path / "用户文件夹"
    work.mkdir()
    workbook = work / SAMPLE.name
    shutil.copyfile(SAMPLE, workbook)
    next_version = edit_sample(work, {**NEW_VERSION, **P1_FASTER}, name="下一版.xlsx")

    assert "opsdoc" in _run(installed, work, "--version")
    assert "issue" in _run(installed, work, "--help")
    _run(installed, work, "workbook", "new", "-o", "空白.xlsx")
    _run(installed, work, "check", "空白.xlsx", code=1)
    _run(installed, work, "check", workbook.name)
    _run(installed, work, "check", workbook.name, "--annotate", "标注.xlsx")
    assert (work / "标注.xlsx").is_file()
    built = _run(installed, work, "build", workbook.name, "-o", "发布", "--pdf")
    (docx,) = (work / "发布").glob("*.docx")
    assert (work / "发布" / docx.with_suffix(".pdf").name).is_file(), built
    _run(installed, work, "verify", str(docx), "--workbook", workbook.name)
    note = _run(installed, work, "diff", str(docx), next_version.name, "--note")
    assert "10分钟" in note, note
    _run(installed, work, "redline", str(docx), next_version.name, "-o", "对比稿.docx")
    assert (work / "对比稿.docx").is_file()
    _run(installed, work, "import", str(docx), "-o", "导入.xlsx")
    _run(installed, work, "check", "导入.xlsx")
    issued = _run(installed, work, "issue", workbook.name, "--archive", "归档", "--by", "文控", "--backdate")
    assert "已发布并登记" in issued, issued
    assert "现行" in _run(installed, work, "register", "list", "--archive", "归档")
    _run(installed, work, "register", "export", "--archive", "归档", "-o", "受控文件清单.xlsx")
    assert (work / "受控文件清单.xlsx").is_file()
    _run(installed, work, "register", "verify", "--archive", "归档")
    code, version = "QT-YW-GF-BH01-001", "V2.0"
    handed = _run(
        installed, work, "register", "distribute", code, version, "--archive", "归档", "--to", "张伟", "-o", "发放"
    )
    assert "分发号 001" in handed and len(list((work / "发放").glob("*分发号001.pdf"))) == 1, handed
    _run(installed, work, "register", "copies", "--archive", "归档")
    _run(installed, work, "register", "review", code, version, "--archive", "归档")
    _run(installed, work, "register", "due", "--archive", "归档")
    _run(installed, work, "register", "recall", code, version, "001", "--archive", "归档")
    _run(installed, work, "register", "verify", "--archive", "归档")
    _run(installed, work, "template", "check")
    assert "cover-version-mismatch" in _run(installed, work, "rules")


def test_the_documented_python_example_runs_on_the_installed_package(installed: Path, tmp_path: Path):
    """docs/api.md's example, verbatim, against the installed opsdoc.api."""
    uno_python()
    (example,) = re.findall(r"```python\n(.*?)```", (REPO / "docs" / "api.md").read_text(encoding="utf-8"), re.DOTALL)
    shutil.copyfile(SAMPLE, tmp_path / "我的项目.xlsx")
    result = subprocess.run(
        [str(installed.parent / "python"), "-c", example],
        cwd=tmp_path,
        env=_outside_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "已发布并登记" in result.stdout and "规范 发布/" in result.stdout, result.stdout
