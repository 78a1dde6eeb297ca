"""The package's shape: modules import one way (no cycles, even through deferred imports)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "cropkit"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(module: str, path: Path, node: ast.ImportFrom, modules: set[str]) -> set[str]:
    """The cropkit modules an ``import from`` statement of ``module`` reaches."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    if node.level:
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    found = {f"{target}.{alias.name}" for alias in node.names} & modules
    return found | ({target} & modules)


def import_graph() -> nx.DiGraph:
    """Module -> the modules it imports, at the top or inside a function."""
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(paths)
    for module, path in paths.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                targets = imported(module, path, node, set(paths))
            elif isinstance(node, ast.Import):
                targets = {alias.name for alias in node.names} & set(paths)
            else:
                continue
            for target in targets:
                if not module.startswith(f"{target}.") and target != module:  # its own package
                    graph.add_edge(module, target)
    return graph


def test_the_import_graph_sees_known_edges():
    graph = import_graph()
    assert graph.has_edge("cropkit.face.reruns", "cropkit.face.report")  # a deferred import
    assert graph.has_edge("cropkit.face.report", "cropkit.core.run")
    assert graph.has_edge("cropkit.stages.composites", "cropkit.compute.composite")


def test_no_module_imports_itself_back():
    cycles = [sorted(c) for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert cycles == []
