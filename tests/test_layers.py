"""The package's layers: lower layers never import higher ones, and no module imports itself back."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import REPO

PACKAGE = REPO / "opsdoc"
# From the bottom up; a module may import its own layer and the ones below.
LAYERS = [
    "errors",
    "contract",
    "office",
    "workbook",
    "generate",
    "qa",
    "control",
    "importer",
    "pipeline",
    "api",
    "web",
    "click_zh",
    "cli",
    "__main__",
]


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every opsdoc module and the opsdoc modules it imports, wherever in the file."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("opsdoc"):
                targets = [f"{node.module}.{a.name}" for a in node.names]
                found |= {t if t in modules else node.module for t in targets}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("opsdoc")}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 else 0


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{module} → {target}"
        for module, targets in _imports().items()
        for target in targets
        if _layer(target) > _layer(module)
    ]
    assert upward == []


def test_no_import_cycle():
    graph = _imports()
    visiting: list[str] = []
    done: set[str] = set()
    cycles: list[str] = []

    def visit(module: str) -> None:
        if module in visiting:
            cycles.append(" → ".join([*visiting[visiting.index(module) :], module]))
            return
        if module in done:
            return
        visiting.append(module)
        for target in sorted(graph[module]):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert cycles == []


def test_every_module_has_a_layer():
    assert {_module(p).split(".")[1] for p in PACKAGE.rglob("*.py") if _module(p) != "opsdoc"} <= set(LAYERS)


def test_the_cli_calls_only_the_public_face():
    """Every command goes through opsdoc.api (serve starts the web page, itself over opsdoc.api): the web page
    or another program gets what the CLI gets."""
    assert _imports()["opsdoc.cli"] == {"opsdoc.api", "opsdoc.click_zh", "opsdoc.web"}
    web = {target for module, targets in _imports().items() if module.startswith("opsdoc.web") for target in targets}
    assert {t for t in web if not t.startswith("opsdoc.web")} == {"opsdoc.api", "opsdoc.errors"}
