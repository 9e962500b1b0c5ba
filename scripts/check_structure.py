"""Structure rules of the package, checked from its source (no import needed).

* no import cycles between the package's modules (every import counts, also those inside
  functions: a function-level import that hides a cycle is still a cycle);
* ``cli.py`` imports nothing inside functions: it parses arguments and prints, the library
  does the work.

Run ``python scripts/check_structure.py`` (exit 1 with one line per problem);
``tests/unit/test_structure.py`` runs the same functions.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "playstudio_luigi"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _imported(node: ast.AST, current: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = current.split(".")
            anchor = anchor if is_package else anchor[:-1]
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        return [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return []


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module → the package's modules it imports (a ``from pkg import name`` of a
    submodule counts as importing it)."""
    known = modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for target in _imported(node, name, path.name == "__init__.py"):
                if target in known and target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles, ignoring the edges into a package's ``__init__`` from its own submodules'
    parents (importing ``pkg.sub`` runs ``pkg/__init__``, which may re-export ``pkg.sub``:
    that is the normal shape of a package, not a cycle)."""
    pruned = {
        name: {t for t in targets if not name.startswith(f"{t}.")}
        for name, targets in graph.items()
    }
    return cycles(pruned)


def function_level_imports(path: Path) -> list[str]:
    """``line: statement`` of every import made inside a function of ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def problems(root: Path = ROOT) -> list[str]:
    found = [f"import cycle: {' -> '.join(cycle)}" for cycle in package_cycles(import_graph(root))]
    found += [
        f"{PACKAGE}/cli.py:{where} imports inside a function"
        for where in function_level_imports(root / "cli.py")
    ]
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(problem)
    if not found:
        print(f"{PACKAGE}: no import cycle among {len(modules())} modules; cli.py imports at top")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
