#!/usr/bin/env python3
"""Checks that code only looks down: within each crate a module imports only modules of lower
layers (or its own), and no two files import each other. Run by `make test` (`make lint`).

The layers, lowest first, are listed below per crate; docs/ARCHITECTURE.md explains them. A
module not listed fails the check, so a new top-level module must be placed in a layer.
Test code (`#[cfg(test)]` modules and everything under tests/, examples/) is not checked.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# crate source folder -> layers, lowest first; modules on one line share a layer and may not
# import each other.
LAYERS = {
    "engine/src": [
        ["base"],
        ["config"],
        ["notify_config"],
        ["snapshot"],
        ["etl"],
        ["query"],
        ["lake"],
        ["rules"],
        ["state"],
        ["export"],
        ["publish"],
        ["notify"],
        ["schedule"],
    ],
    "display/src": None,  # flat vocabulary of the UI: only the file-pair check applies
    "app/src": None,
    "server/src": [
        ["progress"],
        ["acting"],
        ["web"],
        ["cli"],
    ],
}

USE_RE = re.compile(r"\b(crate|super|self)((?:::\s*\w+)+|::\s*\{)")


def closing_brace(src, k):
    """The index of the `}` that closes the `{` at `k` (the end of `src` if none does)."""
    depth = 0
    while k < len(src):
        if src[k] == "{":
            depth += 1
        elif src[k] == "}":
            depth -= 1
            if depth == 0:
                return k
        k += 1
    return k


def strip_tests(src):
    """The source without `#[cfg(test)]` items (a module or a function, brace-matched)."""
    out, i = [], 0
    while True:
        j = src.find("#[cfg(test)]", i)
        if j < 0:
            out.append(src[i:])
            return "".join(out)
        out.append(src[i:j])
        k = src.find("{", j)
        semi = src.find(";", j)
        if k < 0 or (0 <= semi < k):
            i = semi + 1
            continue
        i = closing_brace(src, k) + 1


def strip_comments(src):
    src = re.sub(r"//[^\n]*", "", src)
    return re.sub(r"/\*.*?\*/", "", src, flags=re.S)


def module_path(crate_dir, path):
    rel = os.path.relpath(path, crate_dir)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


def paths_in(src):
    """Every `crate::a::b`, `super::x`, `self::x` path, braces expanded (one level deep is
    enough for this code base; deeper nesting is expanded recursively)."""
    found = []

    def expand(prefix, body):
        depth, cur, items = 0, "", []
        for ch in body:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                items.append(cur)
                cur = ""
            else:
                cur += ch
        items.append(cur)
        for it in items:
            it = re.sub(r"\s+", "", it)
            if not it:
                continue
            m = re.match(r"^([\w:]*?)::\{(.*)\}$", it)
            if m:
                expand(prefix + [p for p in m.group(1).split("::") if p], m.group(2))
            else:
                found.append(prefix + [p for p in it.split(" as ")[0].split("::") if p])

    i = 0
    for m in re.finditer(r"\b(crate|super|self)::", src):
        if m.start() < i:
            continue
        head = [m.group(1)]
        j = m.end()
        segs = []
        while True:
            mm = re.match(r"\s*(\w+)\s*(::)?", src[j:])
            if mm and src[j:].lstrip().startswith("{") is False:
                segs.append(mm.group(1))
                j += mm.end()
                if not mm.group(2):
                    break
                continue
            if src[j:].lstrip().startswith("{"):
                k = j + src[j:].index("{")
                e = closing_brace(src, k)
                expand(head + segs, src[k + 1 : e])
                i = e + 1
                segs = None
            break
        if segs is not None:
            found.append(head + segs)
    return found


def resolve(mod, path):
    """An import path as an absolute module path within the crate."""
    if path[0] == "crate":
        return path[1:]
    base = list(mod)
    rest = path
    while rest and rest[0] in ("super", "self"):
        if rest[0] == "super":
            base = base[:-1]
        rest = rest[1:]
    return base + rest


def check(root, all_layers):
    """The problems of the crates under `root`, each a line of text."""
    problems = []
    for crate_dir, layers in all_layers.items():
        crate_abs = os.path.join(root, crate_dir)
        files = {}
        for dp, _, fs in os.walk(crate_abs):
            for f in fs:
                if f.endswith(".rs"):
                    p = os.path.join(dp, f)
                    files[tuple(module_path(crate_abs, p))] = p
        rank = {}
        if layers:
            for n, names in enumerate(layers):
                for name in names:
                    rank[name] = n
        imports = {}
        for mod, p in files.items():
            src = strip_comments(strip_tests(open(p, encoding="utf-8").read()))
            targets = set()
            for path in paths_in(src):
                absolute = resolve(list(mod), path)
                # The longest prefix that is a file of this crate.
                for n in range(len(absolute), 0, -1):
                    if tuple(absolute[:n]) in files:
                        targets.add(tuple(absolute[:n]))
                        break
            targets.discard(mod)
            imports[mod] = targets
            if layers and mod:
                top = mod[0]
                if top not in rank:
                    problems.append(f"{crate_dir}/{'/'.join(mod)}: module `{top}` is in no layer; add it to LAYERS in scripts/check_layers.py")
                    continue
                for t in targets:
                    if not t or t[0] == top:
                        continue
                    if t[0] not in rank:
                        continue
                    if rank[t[0]] >= rank[top]:
                        problems.append(
                            f"{p[len(root) + 1:]}: `{top}` imports `{'::'.join(t)}`, which is not in a lower layer"
                        )
        for a, ts in imports.items():
            for b in ts:
                if a < b and a in imports.get(b, ()) and a and b:
                    problems.append(
                        f"{crate_dir}: `{'::'.join(a)}` and `{'::'.join(b)}` import each other; move what both need into one of them or below both"
                    )
    return sorted(set(problems))


def self_test():
    """The check finds an upward import, a pair of files importing each other and a module in
    no layer, and passes a tree that looks only down."""
    import tempfile

    layers = {"c/src": [["low"], ["high"]]}
    with tempfile.TemporaryDirectory() as tmp:

        def write(rel, text):
            path = os.path.join(tmp, "c/src", rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)

        write("lib.rs", "pub mod low;\npub mod high;\n")
        write("low/mod.rs", "pub mod a;\npub mod b;\n")
        write("low/a.rs", "use super::b::X;\n#[cfg(test)]\nmod tests { use crate::high::Y; }\n")
        write("low/b.rs", "pub struct X;\n")
        write("high.rs", "use crate::low::{a, b::X};\npub struct Y;\n")
        assert check(tmp, layers) == [], check(tmp, layers)
        write("low/b.rs", "use crate::{high::Y, low::a};\npub struct X;\n")
        write("stray.rs", "")
        found = "\n".join(check(tmp, layers))
        assert "`low` imports `high`" in found, found
        assert "`low::a` and `low::b` import each other" in found, found
        assert "module `stray` is in no layer" in found, found


def main():
    self_test()
    problems = check(ROOT, LAYERS)
    for p in problems:
        print("layers: " + p)
    if problems:
        print(f"layers: {len(problems)} problem(s); the layers are listed in scripts/check_layers.py and docs/ARCHITECTURE.md")
        return 1
    print("layers: every module imports only lower layers, and no two files import each other")
    return 0


if __name__ == "__main__":
    sys.exit(main())
