"""DESIGN.md's import rules, enforced by the project itself.

controllers/ runs on cabinets: stdlib and numpy only, nothing else of ours.
sim/ never imports twin, hil or viz (and of controllers only controllers.io).
hil/ never imports sim, twin or viz (and of controllers only controllers.io).
twin/ never imports viz, except the command line (the composition root).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"controllers", "sim", "twin", "hil", "viz"}
FORBIDDEN = {
    "controllers": {"sim", "twin", "hil", "viz"},
    "sim": {"twin", "hil", "viz"},
    "hil": {"sim", "twin", "viz"},
    "twin": {"viz"},
}
ONLY_IO = {"sim", "hil"}  # may use controllers.io but no controller logic
CONTROLLER_THIRD_PARTY = {"numpy"}


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in ``path``; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = path.relative_to(root).with_suffix("").parts[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def violations(root: Path = ROOT) -> list[str]:
    stdlib = set(sys.stdlib_module_names)
    bad = []
    for package, banned in FORBIDDEN.items():
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if rel.parts[:2] in (("twin", "cli.py"), ("twin", "cli")):
                continue
            for line, module in imported_modules(path, root):
                top = module.split(".")[0]
                where = f"{rel}:{line}"
                if top in banned:
                    bad.append(f"{where}: {package}/ must not import {module}")
                elif package == "controllers" and top not in OURS | stdlib | CONTROLLER_THIRD_PARTY:
                    bad.append(f"{where}: controllers/ may use only stdlib and numpy, not {module}")
                elif (
                    package in ONLY_IO
                    and top == "controllers"
                    and not (module == "controllers.io" or module.startswith("controllers.io."))
                ):
                    bad.append(f"{where}: {package}/ may use only controllers.io, not {module}")
    return bad


def test_project_respects_import_rules():
    assert violations() == []


@pytest.mark.parametrize(
    ("package", "source", "expected"),
    [
        ("controllers", "import requests\n", "may use only stdlib and numpy"),
        ("controllers", "from sim.traffic import plant\n", "must not import"),
        ("sim", "from controllers.signals import safety\n", "only controllers.io"),
        ("sim", "from twin import kernel\n", "must not import"),
        ("hil", "import twin.kernel\n", "must not import"),
        ("twin", "from viz.report import make_report\n", "must not import"),
    ],
)
def test_checker_catches_each_kind_of_violation(tmp_path, package, source, expected):
    (tmp_path / package / "sub").mkdir(parents=True)
    (tmp_path / package / "sub" / "bad.py").write_text(source)
    found = violations(tmp_path)
    assert len(found) == 1 and expected in found[0]


def test_command_line_may_wire_in_viz(tmp_path):
    (tmp_path / "twin").mkdir()
    (tmp_path / "twin" / "cli.py").write_text("from viz.report import make_report\n")
    assert violations(tmp_path) == []
