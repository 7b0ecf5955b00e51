"""The layers, enforced: cli -> actions -> core and adapters; core imports nothing else of coder_cli;
adapters never reach up into actions, cli or ui; rich and prompt_toolkit only under ui/, typer only
under cli/. Imports are read with `ast` (every import, also those inside functions), nothing is run.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "coder_cli"

ADAPTERS = {
    "engine", "context", "fs", "vcs", "model_store", "config", "manifest", "gguf",
    "environment", "errors", "tomlcompat", "crash_guard",
}  # fmt: skip
UI_LIBRARIES = {"rich", "prompt_toolkit"}

# The layers a layer must not import (core and ui: everything but what they may, below).
FORBIDDEN: dict[str, set[str]] = {
    "actions": {"cli", "ui", "entry"},
    **{adapter: {"actions", "cli", "ui", "entry"} for adapter in ADAPTERS},
}
ALLOWED_IN_CORE = {"core"}  # pure: only itself
ALLOWED_IN_UI = {"ui", "environment", "errors"}  # renders what it is given


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if parts[0] == "coder_cli" and len(parts) > 1 else parts[0]


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in PATH."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "coder_cli":
                out += [(node.lineno, f"coder_cli.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, node.module))
    return out


def violations(package: Path) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent)
        src = _layer(".".join(rel.with_suffix("").parts))
        for line, module in imports(path):
            dst = _layer(module)
            where = f"{rel}:{line} imports {module}"
            if dst in UI_LIBRARIES and src != "ui":
                found.append(f"{where}: {dst} belongs under ui/")
            elif dst == "typer" and src != "cli":
                found.append(f"{where}: typer belongs under cli/")
            elif module.startswith("coder_cli") and dst != src:
                if src == "core" and dst not in ALLOWED_IN_CORE:
                    found.append(f"{where}: core imports nothing but core")
                elif src == "ui" and dst not in ALLOWED_IN_UI:
                    found.append(f"{where}: ui renders; it imports no {dst}")
                elif dst in FORBIDDEN.get(src, set()):
                    found.append(f"{where}: {src} must not depend on {dst}")
    return found


def test_the_package_keeps_its_layers():
    assert violations(PACKAGE) == []


def test_every_module_is_in_a_known_layer():
    known = ADAPTERS | {"core", "ui", "actions", "cli", "entry", "__init__", "__main__", "__version__"}
    layers = {_layer(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)) for p in PACKAGE.rglob("*.py")}
    assert layers <= known, f"new top-level modules need a layer in tests/test_layers.py: {sorted(layers - known)}"


def test_a_violation_is_caught(tmp_path):
    pkg = tmp_path / "coder_cli"
    for folder in ("core", "engine", "actions", "ui"):
        (pkg / folder).mkdir(parents=True)
    (pkg / "core" / "bad.py").write_text("def f():\n    from coder_cli.engine import base\n")
    (pkg / "engine" / "bad.py").write_text("import rich\nfrom coder_cli.actions import fix\n")
    (pkg / "actions" / "bad.py").write_text("from coder_cli import cli\nimport typer\n")
    (pkg / "ui" / "fine.py").write_text("import rich\nfrom coder_cli.environment import Environment\n")
    found = violations(pkg)
    assert found == [
        "coder_cli/actions/bad.py:1 imports coder_cli.cli: actions must not depend on cli",
        "coder_cli/actions/bad.py:2 imports typer: typer belongs under cli/",
        "coder_cli/core/bad.py:2 imports coder_cli.engine: core imports nothing but core",
        "coder_cli/engine/bad.py:1 imports rich: rich belongs under ui/",
        "coder_cli/engine/bad.py:2 imports coder_cli.actions: engine must not depend on actions",
    ]
