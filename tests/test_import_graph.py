"""The import graph of revlib has no circle: every module can be read bottom-up.

The graph is built with ``ast`` from every ``import`` statement anywhere in a module (also the
ones inside functions: a deferred import only hides a circle, it does not remove it). An edge
goes to the module imported; ``from package import name`` goes to ``package.name`` when that is
a module, else to the package itself; importing ``a.b.c`` also runs the ``__init__`` of ``a`` and
``a.b``, so those are edges too (except from modules inside them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import revlib

ROOT = Path(revlib.__file__).resolve().parent


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the revlib modules it imports (anywhere in its body)."""
    paths = {_module_name(p, root): p for p in root.rglob("*.py")}
    modules = set(paths)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    targets.append(sub if sub in modules else base)
            for t in targets:
                while t and t not in modules:  # import revlib.a.b.func -> revlib.a.b
                    t = t.rpartition(".")[0]
                # importing a.b.c runs the __init__ of a and a.b first (unless we are inside them)
                while t and t != name and not name.startswith(t + "."):
                    graph[name].add(t)
                    t = t.rpartition(".")[0]
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph as a list of modules (first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return [*stack[stack.index(n) :], n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_find_cycle_sees_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_import_graph_reads_deferred_and_package_imports() -> None:
    graph = import_graph()
    assert len(graph) > 50  # the whole package, not one sub-package
    assert "revlib.scoring.close_dates" in graph["revlib.scoring.model"]
    assert "revlib.scoring.explain" in graph["revlib.scoring"]  # from revlib.scoring import explain
    assert "revlib.data" in graph["revlib.scoring.workflow"]  # imported inside a function


def test_revlib_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])
