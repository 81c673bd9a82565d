"""Cycles among MIR relations, in plain Python so that both doors and the import report can ask
the same question before anything is written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def cyclic_groups(edges: Mapping[str, Iterable[str]]) -> list[set[str]]:
    """The groups of nodes that reach each other (strongly connected components of more than one
    node). An empty list means the graph has no cycle; self-loops are refused elsewhere.

    Iterative Tarjan: a register may nest thousands of parts, deeper than Python's recursion limit.
    """
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[set[str]] = []
    counter = 0
    nodes = set(edges) | {target for targets in edges.values() for target in targets}

    for root in sorted(nodes):
        if root in index_of:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges.get(root, ())))]
        index_of[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                successor = pending.pop()
                if successor not in index_of:
                    index_of[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, sorted(edges.get(successor, ()))))
                elif successor in on_stack:
                    low[node] = min(low[node], index_of[successor])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups
