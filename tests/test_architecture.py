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


def runtime_imports(tree: ast.AST):
    """Import statements run at import or call time (those under ``if TYPE_CHECKING:`` not)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in runtime_imports(child))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from runtime_imports(node)


def import_graph() -> nx.DiGraph:
    """Module -> the modules it imports, at the top or inside a function."""
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(paths)
    for module, path in paths.items():
        for node in runtime_imports(ast.parse(path.read_text())):
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


#: Layer -> the layers above it, which it must never import (ARCHITECTURE.md's one-way rules).
ABOVE = {
    "cropkit.core": (
        "access",
        "compute",
        "analysis",
        "experiments",
        "face",
        "datasets",
        "models",
        "trainer",
        "stages",
        "plot",
        "demo",
        "server",
        "config",
        "endpoint",
        "products",
    ),
    "cropkit.compute": (
        "access",
        "analysis",
        "experiments",
        "face",
        "models",
        "trainer",
        "stages",
        "plot",
        "demo",
        "server",
        "endpoint",
    ),
    "cropkit.access": (
        "analysis",
        "experiments",
        "face",
        "models",
        "trainer",
        "stages",
        "plot",
        "endpoint",
    ),
    "cropkit.datasets": ("analysis", "experiments", "face", "models", "trainer", "stages"),
    "cropkit.models": ("trainer", "experiments", "analysis", "face", "stages", "plot"),
    "cropkit.trainer": ("experiments", "analysis", "face", "stages", "plot"),
    "cropkit.experiments": ("analysis", "stages", "face", "plot", "endpoint"),
    "cropkit.analysis": ("stages", "face", "plot", "endpoint"),
    "cropkit.stages": ("face", "plot", "endpoint"),
    "cropkit.plot": ("models", "trainer", "experiments", "face"),
}


def test_layers_import_downwards_only():
    graph = import_graph()
    wrong = sorted(
        (module, target)
        for module, target in graph.edges
        for layer, above in ABOVE.items()
        if module.startswith(layer) and any(target.startswith(f"cropkit.{name}") for name in above)
    )
    assert wrong == []


def test_every_layer_offers_each_of_its_modules():
    import importlib

    for layer in ("core", "access", "compute", "analysis", "experiments", "face", "stages"):
        package = importlib.import_module(f"cropkit.{layer}")
        files = {p.stem for p in (PACKAGE / layer).glob("*.py") if p.stem != "__init__"}
        assert set(package.__all__) == files, layer
