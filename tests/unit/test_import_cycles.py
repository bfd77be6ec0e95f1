"""No import cycles in kyc_match or kyc_match_tools.

Every import statement counts, including the ones inside functions and under TYPE_CHECKING: a lazy
import still makes the two modules depend on each other, and the cycle this test was written for
(`commands/ported_numbers` <-> `operator_sim/local_operators`, #11) was made of lazy imports only.
An edge goes to the module named (`from a.b import c` -> `a.b.c` if that is a module, else `a.b`);
the implicit import of parent packages is not an edge, or every package would be a cycle.
"""

import ast
import importlib.util
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

PACKAGES = ("kyc_match", "kyc_match_tools")


def package_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> source file, for every .py file under `root/<package>`."""
    modules: dict[str, Path] = {}
    for package in packages:
        for source in sorted((root / package).rglob("*.py")):
            parts = source.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = source
    return modules


def imported_modules(name: str, source: Path, known: Mapping[str, Path]) -> set[str]:
    """The modules of `known` that `name` imports anywhere in its source."""
    package = name if source.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in known:
                    found.add(target)
                elif base in known:
                    found.add(base)
    found.discard(name)
    return found


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    modules = package_modules(root, packages)
    return {name: imported_modules(name, source, modules) for name, source in modules.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = lowlink[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for dependency in sorted(graph.get(module, ())):
            if dependency not in index:
                visit(dependency)
                lowlink[module] = min(lowlink[module], lowlink[dependency])
            elif dependency in on_stack:
                lowlink[module] = min(lowlink[module], index[dependency])
        if lowlink[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def source_root() -> Path:
    spec = importlib.util.find_spec(PACKAGES[0])
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent.parent


def test_the_packages_have_no_import_cycle():
    graph = import_graph(source_root(), PACKAGES)
    assert len(graph) > 50, "the walk found the packages' modules"
    assert "kyc_match_tools.commands" in graph["kyc_match_tools.cli"], "the walk found the imports"
    assert cycles(graph) == []


def write_package(root: Path, files: Mapping[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {
                "pkg/__init__.py": "",
                "pkg/a.py": "from pkg.b import helper\n",
                "pkg/b.py": "def helper():\n    from pkg import a\n",
            },
            [["pkg.a", "pkg.b"]],
            id="lazy import inside a function",
        ),
        pytest.param(
            {
                "pkg/__init__.py": "from pkg.sub import thing\n",
                "pkg/sub/__init__.py": "from .impl import thing\n",
                "pkg/sub/impl.py": "from .. import VERSION\nthing = 1\n",
            },
            [["pkg", "pkg.sub", "pkg.sub.impl"]],
            id="relative imports through package __init__",
        ),
        pytest.param(
            {
                "pkg/__init__.py": "from pkg import a, b\n",
                "pkg/a.py": "import pkg.b\n",
                "pkg/b.py": "from pkg.c import x\n",
                "pkg/c.py": "x = 1\n",
            },
            [],
            id="a package importing its modules is no cycle",
        ),
    ],
)
def test_the_detector_finds_cycles_and_only_cycles(tmp_path, files, expected):
    write_package(tmp_path, files)
    assert cycles(import_graph(tmp_path, ["pkg"])) == expected
