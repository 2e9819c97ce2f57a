#!/usr/bin/env python3
"""Circles between source files, read off the built objects.

For each directory of sources (common/, bus/, bus/broker/, services/<name>/,
tools/<name>/), an edge A -> B means A.o uses a symbol B.o defines. A set of
files that reach each other through such edges (a strongly connected
component of more than one file) is a circle. Test sources are left out. Run it from the top of the tree.

Usage: file_circles.py BUILD_DIR
Prints one line per circle, "DIR: a b c | a->b(sym,...) ...", and exits 1
if there is any; exits 2 if no object was found.
"""
import collections
import glob
import os
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "TDBR":
            defined.add(f[2])
        elif len(f) == 2 and f[0] == "U":
            used.add(f[1])
    return defined, used


def components(graph):
    """Tarjan's strongly connected components, iteratively."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    objroot = os.path.join(sys.argv[1], "obj")
    dirs = collections.defaultdict(list)
    for obj in glob.glob(os.path.join(objroot, "**", "*.o"), recursive=True):
        rel = os.path.relpath(obj, objroot)
        base = os.path.basename(rel)
        if rel.startswith("tests/") or base.startswith("test_") or base.endswith("_fuzz.o"):
            continue
        if not os.path.exists(rel[:-2] + ".c"):
            continue  # an object left behind by a source since removed
        dirs[os.path.dirname(rel)].append(obj)
    if not dirs:
        print("no objects under " + objroot)
        sys.exit(2)
    circles = 0
    for d in sorted(dirs):
        owner, used = {}, {}
        for obj in dirs[d]:
            name = os.path.basename(obj)[:-2]
            defined, used[name] = symbols(obj)
            for s in defined:
                owner[s] = name
        edges = collections.defaultdict(set)
        for name, syms in used.items():
            for s in syms:
                if s in owner and owner[s] != name:
                    edges[(name, owner[s])].add(s)
        graph = {name: set() for name in used}
        for a, b in edges:
            graph[a].add(b)
        for comp in components(graph):
            circles += 1
            detail = " ".join(
                "%s->%s(%s)" % (a, b, ",".join(sorted(edges[(a, b)])))
                for a in comp for b in sorted(graph[a]) if b in comp)
            print("%s: %s | %s" % (d, " ".join(comp), detail))
    sys.exit(1 if circles else 0)


if __name__ == "__main__":
    main()
