#!/usr/bin/env python3
"""Checks that the code's dependencies point the way the build says (docs/architecture.md).

Each module is a CMake static library (`tailor_module(NAME SOURCES ... DEPS ...)` in
CMakeLists.txt). Its DEPS are exactly what it uses: every module may include its own files and
the public headers (include/tailor/) and private headers (src/<module>/) of the modules in its
DEPS, nothing else, and every module in its DEPS is included by it. The graph must have no cycle. Who owns a public header is the module table of docs/architecture.md, so the
map stays true too: a public header missing from it fails the check. Front ends (tools/) include
only public headers and their own files.

Usage: tools/checks/module_deps.py [REPO]   (exit 1 and one line per violation when it fails)
"""
import pathlib
import re
import sys

repo = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2])
problems = []

# --- Modules and their declared dependencies --------------------------------------------------
cmake = (repo / "CMakeLists.txt").read_text()
deps = {}
for match in re.finditer(r"tailor_module\((\w+)\s+SOURCES(.*?)DEPS(.*?)\)", cmake, re.S):
    name, sources, dep_text = match.groups()
    deps[name] = {d[len("tailor_"):] for d in dep_text.split() if d.startswith("tailor_")}
    for source in re.findall(r"src/(\w+)/", sources):
        if source != name:
            problems.append(f"CMakeLists.txt: module {name} compiles src/{source}/ of another")
for name, direct in deps.items():
    for dep in direct:
        if dep not in deps:
            problems.append(f"CMakeLists.txt: module {name} depends on unknown module {dep}")


def reachable(name):  # the modules `name` reaches (for the cycle check)
    seen, todo = set(), [name]
    while todo:
        for dep in deps.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


for name in deps:
    if name in reachable(name):
        problems.append(f"CMakeLists.txt: module {name} depends on itself through others")

# --- Owners of the public headers: the module table of the architecture document --------------
owner = {}
table = (repo / "docs/architecture.md").read_text()
for line in table.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) < 3 or not line.startswith("|"):
        continue
    module = cells[0].split()[0]
    if module not in deps:
        continue
    for header in re.findall(r"`([\w/]+\.h)`", cells[1]):
        if header in owner and owner[header] != module:
            problems.append(f"docs/architecture.md: {header} is owned by {owner[header]} and {module}")
        owner[header] = module
for header in sorted((repo / "include/tailor").glob("*.h")):
    if header.name not in owner:
        problems.append(f"docs/architecture.md: no module owns include/tailor/{header.name}")

include_re = re.compile(r'^\s*#\s*include\s+[<"]([^">]+)[">]', re.M)


def owner_of(include):
    if ".." in include.split("/"):
        return "(a relative path)"
    if include.startswith("tailor/"):
        return owner.get(include[len("tailor/"):])
    head = include.split("/")[0]
    return head if head in deps and "/" in include else None


# --- Every file of every module ----------------------------------------------------------------
for module in sorted(deps):
    allowed = deps[module] | {module}
    used_modules = set()
    own_headers = [repo / "include/tailor" / h for h, m in owner.items() if m == module]
    for path in sorted((repo / "src" / module).rglob("*")) + sorted(own_headers):
        if path.suffix not in (".h", ".cc", ".in") or not path.exists():
            continue
        for include in include_re.findall(path.read_text()):
            used = owner_of(include)
            if used is None:
                continue
            used_modules.add(used)
            if used not in allowed:
                problems.append(f"{path.relative_to(repo)}: module {module} includes {include} "
                                f"of module {used}, which is not in its DEPS")
    for dep in sorted(deps[module] - used_modules):
        problems.append(f"CMakeLists.txt: module {module} declares {dep} but includes nothing of it")

for path in sorted((repo / "tools").rglob("*")):
    if path.suffix not in (".h", ".cc"):
        continue
    for include in include_re.findall(path.read_text()):
        if owner_of(include) is not None and not include.startswith("tailor/"):
            problems.append(f"{path.relative_to(repo)}: a front end includes private {include}")

for problem in problems:
    print(problem)
if problems:
    print(f"module dependencies: {len(problems)} problem(s)")
    sys.exit(1)
print(f"module dependencies: {len(deps)} modules, {len(owner)} public headers, all as declared")
