"""No import circle anywhere in kasset: imports under `TYPE_CHECKING` and inside
functions count too, since a circle hidden from the interpreter is still one a reader
has to untangle (and what import-linter's layer contracts would miss)."""

from __future__ import annotations

import grimp
import networkx as nx
import pytest


@pytest.fixture(scope="module")
def imports() -> nx.DiGraph:
    graph = grimp.build_graph("kasset", exclude_type_checking_imports=False, cache_dir=None)
    edges = nx.DiGraph()
    for module in graph.modules:
        edges.add_node(module)
        for imported in graph.find_modules_directly_imported_by(module):
            edges.add_edge(module, imported)
    return edges


def test_no_module_of_kasset_imports_itself_back_through_others(imports: nx.DiGraph) -> None:
    circles = [sorted(c) for c in nx.strongly_connected_components(imports) if len(c) > 1]
    assert circles == [], f"import circles: {circles}"
