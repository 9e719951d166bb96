"""The package is layered: each layer imports only from the layers before it.

package root (errors, settings, sensitivity, YAML documents) → ``agents/`` (the crew as data)
→ ``routing/`` (how a step is routed) → ``graphs/`` (how a run flows) → ``platform/``
(adapters, runners, shells). Imports under ``if TYPE_CHECKING:`` are free: they do not run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import hybridcrew

LAYERS = ("", "agents", "routing", "graphs", "platform")
"""Lowest first; "" is the package root's own modules."""
PACKAGE = Path(hybridcrew.__file__).parent
ENTRY_POINTS = {"hybridcrew.__main__"}
"""``python -m hybridcrew`` starts the CLI: it sits above every layer."""


def layer_of(module: str) -> int | None:
    """The layer index of a hybridcrew module, None for other packages."""
    parts = module.split(".")
    if parts[0] != "hybridcrew":
        return None
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else 0


def module_name(path: Path) -> str:
    """``hybridcrew/routing/router.py`` → ``hybridcrew.routing.router``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(tree: ast.Module, module: str) -> list[tuple[int, str]]:
    """Every import that runs (module level or in a function), with its line."""
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[:-node.level] if node.level else []
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return found


def upward_imports() -> list[str]:
    """``file:line imports module (layer X imports the later layer Y)`` for each violation."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        if module in ENTRY_POINTS:
            continue
        own = layer_of(module)
        assert own is not None
        for line, target in runtime_imports(ast.parse(path.read_text("utf-8")), module):
            theirs = layer_of(target)
            if theirs is not None and theirs > own:
                out.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target} "
                           f"({LAYERS[own] or 'root'} may not import {LAYERS[theirs]})")
    return out


def test_every_import_points_to_an_earlier_layer() -> None:
    violations = upward_imports()
    assert not violations, "upward imports:\n" + "\n".join(violations)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The walker finds imports in functions and resolves relative ones (so it cannot pass
    by seeing nothing)."""
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
              "    from hybridcrew.platform.store import Store\n"
              "def f():\n    from ..platform import crew\n    import hybridcrew.graphs.state\n")
    found = runtime_imports(ast.parse(source), "hybridcrew.routing.router")
    assert [(t, layer_of(t)) for _, t in found] == [
        ("typing", None), ("hybridcrew.platform", 4), ("hybridcrew.graphs.state", 3)]


def test_every_package_says_what_it_owns() -> None:
    for init in sorted(PACKAGE.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text("utf-8")))
        assert doc, f"{init.relative_to(PACKAGE.parent)} needs a docstring"
        assert len(doc) > 40, f"{init.relative_to(PACKAGE.parent)}: say what the package owns"
