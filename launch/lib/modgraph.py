#!/usr/bin/env python3
"""Import cycles between a crate's top-level modules.

    launch/lib/modgraph.py CRATE_SRC_DIR[=ROOT_PATH]...

Every `crate::<module>` named in a module's files (imports, paths, doc links) is an edge from
that module to <module>, and so is `super::<module>` in a top-level module's own file; a
strongly connected set of two or more modules is a cycle. ROOT_PATH checks the modules under
one module instead (`camera-node/src/node=crate::node`). Prints
each cycle with its edges and exits 1 if there is one: no two modules may import each other,
directly or through others (docs/architecture.md).
"""
import os
import re
import sys


def edges(src, root_path="crate"):
    graph = {}
    named = re.compile(r"\b" + re.escape(root_path) + r"::([a-z_0-9]+)")
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            top = os.path.relpath(path, src).split(os.sep)[0].removesuffix(".rs")
            if top in ("lib", "main", "mod"):
                continue
            depth = os.path.relpath(path, src).count(os.sep)
            own_file = depth == 0 or (depth == 1 and name == "mod.rs")
            with open(path, encoding="utf-8") as file:
                text = file.read()
            targets = graph.setdefault(top, set())
            found = [m.group(1) for m in named.finditer(text)]
            if own_file:
                found += [m.group(1) for m in re.finditer(r"\bsuper::([a-z_0-9]+)", text)]
            targets.update(target for target in found if target != top)
    return graph


def cycles(graph):
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
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


def main(dirs):
    failed = False
    for arg in dirs:
        src, _, root_path = arg.partition("=")
        graph = edges(src, root_path or "crate")
        for cycle in cycles(graph):
            failed = True
            print(f"{src}: import cycle between {', '.join(cycle)}")
            for module in cycle:
                inside = sorted(t for t in graph[module] if t in cycle)
                print(f"    {module} -> {', '.join(inside)}")
    if not failed:
        print(f"no import cycles in {len(dirs)} crate(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
