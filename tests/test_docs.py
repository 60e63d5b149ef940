"""The reference pages in docs/ say what the code does: every code, command, option, sheet and context key."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from opsdoc.cli import main
from opsdoc.contract.findings import CATALOGUE
from opsdoc.contract.model import SHEETS
from tests.support import REPO

DOCS = REPO / "docs"


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def test_the_readme_links_every_reference_page():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    pages = {p.name for p in DOCS.glob("*.md")}
    assert pages == set(re.findall(r"\(docs/([\w-]+\.md)\)", readme))


def test_codes_page_is_the_table_opsdoc_rules_prints():
    """docs/codes.md ends with `opsdoc rules --format markdown`: regenerate it when a code changes."""
    table = CliRunner().invoke(main, ["rules", "--format", "markdown"]).output
    assert page("codes.md").endswith(table)
    assert len(table.splitlines()) == len(CATALOGUE) + 2


def _commands(group: click.Group, prefix: str = "opsdoc") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found += _commands(command, path)
        else:
            found.append((path, command))
    return found


@pytest.mark.parametrize("path, command", _commands(main), ids=lambda v: v if isinstance(v, str) else "")
def test_cli_page_names_every_command_and_its_options(path, command):
    """Each command has a row in the command reference that names each of its options."""
    rows = [line for line in page("cli.md").splitlines() if line.startswith(f"| `{path}")]
    assert rows, f"{path} has no row in docs/cli.md"
    options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden and p.name != "help"]
    missing = [
        p.opts[-1]
        for p in options
        if not any(re.search(rf"(?<![\w-]){re.escape(o)}\b", row) for o in p.opts for row in rows)
    ]
    assert missing == [], f"{path}: options missing from docs/cli.md"


def test_workbook_page_lists_every_sheet():
    text = page("workbook.md")
    assert [s.title for s in SHEETS if f"`{s.title}`" not in text] == []


def test_context_page_names_every_sheet_of_the_context():
    text = page("context.md")
    assert [s.key for s in SHEETS if f"`{s.key}`" not in text] == []


def test_one_voice_in_messages_pages_and_sample():
    """One term per concept (word_templates/seed-coverage.md): 服务项目经理, 制订, 服务周期/合同期限.

    A drifting term may stand only inside a quotation of the seed (a rule's source sentence).
    """
    seed = re.sub(r"\s", "", (REPO / "word_templates" / "seed.txt").read_text(encoding="utf-8"))
    files = [
        REPO / "README.md",
        *DOCS.glob("*.md"),
        *(REPO / "opsdoc").rglob("*.py"),
        REPO / "samples" / "make_sample.py",
    ]
    drift = re.compile(r"(?<!项目)服务经理|制定|服务期限|服务期内")
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in drift.finditer(text):
            before, after = text[max(0, match.start() - 4) : match.end()], text[match.start() : match.end() + 4]
            if before not in seed and after not in seed:
                found.append((path.name, text[max(0, match.start() - 10) : match.end() + 10]))
    assert [f for f in found if f[0] != "layout.py"] == []  # the importer reads legacy headers as written
