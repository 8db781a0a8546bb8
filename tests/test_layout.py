"""The layout stays true: imports run downhill, and no modules import each other in a circle.

`make lint` checks the layers with import-linter (contracts in pyproject.toml); this test
checks them too, so `make test` alone catches an uphill import, and it refuses cycles, which
a layers contract does not see inside one layer. Typing-only imports do not count.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lotse", "handlers", "bot", "db")  # from the top of the layers down
BIGGEST_MODULE = 700  # lines: a rule of thumb, not a law; the exceptions are named
LONGER_ALLOWED: dict[str, int] = {}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        *PACKAGES, include_external_packages=False, exclude_type_checking_imports=True
    )


def test_every_import_runs_downhill(graph: grimp.ImportGraph) -> None:
    uphill = sorted(
        f"{dependency.importer} -> {dependency.imported}"
        for dependency in graph.find_illegal_dependencies_for_layers(layers=PACKAGES)
    )
    assert uphill == []


def test_no_modules_import_each_other_in_a_circle(graph: grimp.ImportGraph) -> None:
    modules = sorted(graph.modules)
    imports = {m: graph.find_modules_directly_imported_by(m) for m in modules}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for other in imports[module]:
            if other not in order:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], order[other])
        if low[module] == order[module]:
            circle = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                circle.append(member)
                if member == module:
                    break
            if len(circle) > 1:
                circles.append(sorted(circle))

    for module in modules:
        if module not in order:
            visit(module)
    assert circles == []


def test_modules_stay_small() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if (lines := len(path.read_text().splitlines()))
        > LONGER_ALLOWED.get(str(path.relative_to(ROOT)), BIGGEST_MODULE)
    }
    assert long == {}


def test_each_feature_package_says_what_it_is_for() -> None:
    for init in sorted((ROOT / "handlers").glob("*/__init__.py")):
        doc = init.read_text().strip()
        assert doc.startswith('"""') and len(doc) > 40, init
