"""The package's import graph (grimp): no cycles between pitwall's top-level parts, no upward imports.

Every import counts, including imports inside functions and under ``TYPE_CHECKING``: a lazy import is
still a dependency. A failure names the offending modules and one import chain.
"""

from __future__ import annotations

import subprocess
import sys
from functools import cache

import grimp
import pytest

PACKAGE = "pitwall"

FORBIDDEN = [
    ("pitwall.serving", "pitwall.workflow"),  # the workflow deploys through serving, never the reverse
    ("pitwall.data", "pitwall.features"),  # features are computed from the store, not the reverse
]
LEAVES = {"pitwall.vocabulary": set(), "pitwall.refs": {"pitwall.errors"}, "pitwall.config": set()}
"""Modules every layer (and the lean Lambdas) import: what each may import from pitwall."""


@cache
def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def _edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    top = sorted(graph.find_children(PACKAGE))
    return {
        a: {b for b in top if b != a and graph.direct_import_exists(importer=a, imported=b, as_packages=True)}
        for a in top
    }


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _explain(graph: grimp.ImportGraph, importer: str, imported: str) -> str:
    imports = graph.find_matching_direct_imports(import_expression=f"{importer}.** -> {imported}.**")
    imports += graph.find_matching_direct_imports(import_expression=f"{importer} -> {imported}.**")
    imports += graph.find_matching_direct_imports(import_expression=f"{importer}.** -> {imported}")
    shown = sorted({f"{i['importer']} -> {i['imported']}" for i in imports})[:5]
    return f"{importer} -> {imported} ({'; '.join(shown)})"


def test_tarjan_finds_a_cycle_and_no_false_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_top_level_parts() -> None:
    graph = _graph()
    edges = _edges(graph)
    problems = []
    for component in _cycles(edges):
        inside = [_explain(graph, a, b) for a in component for b in sorted(edges[a]) if b in component]
        problems.append(f"cycle {component}: " + " | ".join(inside))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("importer", "imported"), FORBIDDEN)
def test_no_forbidden_dependency(importer: str, imported: str) -> None:
    chain = _graph().find_shortest_chain(importer=importer, imported=imported, as_packages=True)
    assert chain is None, f"{importer} must not depend on {imported}: {' -> '.join(chain or ())}"


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaf_modules_import_only_what_they_may(leaf: str) -> None:
    assert _graph().find_modules_directly_imported_by(leaf) <= LEAVES[leaf]


def test_the_workflow_lambda_modules_load_without_pandas() -> None:
    """The workflow Lambda bundles the pitwall package without pandas, numpy, pyarrow or duckdb."""
    lean = [
        "pitwall.workflow.steps",
        "pitwall.workflow.aws",
        "pitwall.workflow.retrain",
        "pitwall.serving.sagemaker",
        "pitwall.serving.deploy",
        "pitwall.data.store",
        "pitwall.data.store.base",
        "pitwall.config",
        "pitwall.refs",
        "pitwall.vocabulary",
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {lean!r}: importlib.import_module(m)\n"
        "heavy = [m for m in ('pandas', 'numpy', 'pyarrow', 'duckdb', 'awswrangler') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
