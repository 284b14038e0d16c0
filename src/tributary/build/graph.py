"""The build graph: which component's packages another component needs in order to build.

A component depends on another when one of its BuildRequires is provided by one of the other's
packages (package name or an explicit ``Provides``). Versions are ignored for ordering: the order only
needs to know *who* provides, and the build root checks versions when it installs. BuildRequires that
no component provides are left to the declared host toolchain (and reported by the build if the host
lacks them too).

Cycles happen in real distributions (a compiler needs itself). They are found with Tarjan's algorithm
and reported with their members, never silently broken.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tributary.errors import TribError

_OPERATOR = re.compile(r"\s*(<=|>=|=|<|>)\s*")


class CycleError(TribError):
    """Components that need each other to build."""

    def __init__(self, cycles: list[list[str]]):
        described = "; ".join(" -> ".join([*cycle, cycle[0]]) for cycle in cycles)
        super().__init__(f"build dependency cycle: {described}",
                         hint="break it with a bootstrap build option (build.with)")
        self.cycles = cycles


def capability_name(requirement: str) -> str:
    """``libgreet-devel >= 2.0`` -> ``libgreet-devel``; rich dependencies are kept whole."""
    requirement = requirement.strip()
    if requirement.startswith("("):
        return requirement
    return _OPERATOR.split(requirement, maxsplit=1)[0].strip()


@dataclass(frozen=True)
class ComponentDeps:
    """What the graph needs to know of one component."""

    name: str
    build_requires: tuple[str, ...]
    provides: tuple[str, ...]  # package names and Provides of every binary package it builds


@dataclass
class BuildGraph:
    """Edges from a component to the components whose packages it needs; ``external`` what nobody provides."""

    needs: dict[str, set[str]] = field(default_factory=dict)
    external: dict[str, set[str]] = field(default_factory=dict)
    providers: dict[str, set[str]] = field(default_factory=dict)

    def dependents(self, name: str) -> set[str]:
        """Every component that needs ``name``, directly or not."""
        reverse: dict[str, set[str]] = {}
        for component, needed in self.needs.items():
            for dependency in needed:
                reverse.setdefault(dependency, set()).add(component)
        found: set[str] = set()
        stack = [name]
        while stack:
            for dependent in reverse.get(stack.pop(), ()):
                if dependent not in found:
                    found.add(dependent)
                    stack.append(dependent)
        return found

    def requirements_of(self, name: str) -> set[str]:
        """Every component ``name`` needs, directly or not."""
        found: set[str] = set()
        stack = [name]
        while stack:
            for dependency in self.needs.get(stack.pop(), ()):
                if dependency not in found:
                    found.add(dependency)
                    stack.append(dependency)
        return found

    def add_buildroot_edges(self, capabilities: Iterable[str]) -> None:
        """Every component needs the providers of the buildroot's package set (its rpm-config, say),
        as every build in a Koji tag gets the buildroot's packages; except where that would be a
        cycle: a provider, and what it needs itself, are built without it."""
        for capability in sorted(capabilities):
            for provider in sorted(self.providers.get(capability_name(capability), ())):
                before = self.requirements_of(provider) | {provider}
                for name in sorted(self.needs):
                    if name not in before:
                        self.needs[name].add(provider)

    def order(self) -> list[str]:
        """Components in an order where each comes after everything it needs (name order among equals)."""
        cycles = find_cycles(self.needs)
        if cycles:
            raise CycleError(cycles)
        remaining = {name: set(needed) for name, needed in self.needs.items()}
        ordered: list[str] = []
        while remaining:
            ready = sorted(name for name, needed in remaining.items() if not needed)
            ordered.extend(ready)
            for name in ready:
                del remaining[name]
            for needed in remaining.values():
                needed.difference_update(ready)
        return ordered

    def critical_path(self, cost: Mapping[str, float]) -> tuple[float, list[str]]:
        """The longest chain of builds by ``cost``: no schedule on any number of cores beats it."""
        best: dict[str, tuple[float, list[str]]] = {}
        for name in self.order():
            before = max((best[dep] for dep in self.needs[name]), key=lambda item: item[0], default=(0.0, []))
            best[name] = (before[0] + cost.get(name, 0.0), [*before[1], name])
        return max(best.values(), key=lambda item: item[0], default=(0.0, []))


def build_graph(components: Iterable[ComponentDeps]) -> BuildGraph:
    components = list(components)
    graph = BuildGraph()
    for component in components:
        for capability in component.provides:
            graph.providers.setdefault(capability_name(capability), set()).add(component.name)
    for component in components:
        needed: set[str] = set()
        for requirement in component.build_requires:
            providers = graph.providers.get(capability_name(requirement), set()) - {component.name}
            if providers:
                needed.update(providers)
            else:
                graph.external.setdefault(component.name, set()).add(requirement)
        graph.needs[component.name] = needed
    return graph


def find_cycles(needs: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components of more than one member (or a self-loop), each sorted by name."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work = [(start, iter(sorted(needs.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(needs.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1 or node in needs.get(node, ()):
                    cycles.append(sorted(members))

    for name in sorted(needs):
        if name not in index:
            visit(name)
    return sorted(cycles)
