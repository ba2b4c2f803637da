#!/usr/bin/env python3
"""Checks that the code's dependencies point the way the build says (docs/architecture.md).

Each module is a CMake static library (`tailor_module(NAME SOURCES ... DEPS ...)` in
CMakeLists.txt). Every module may include its own files, the public headers (include/tailor/)
and private headers (src/<module>/) of the modules it depends on, directly or through others,
and nothing else. Who owns a public header is the module table of docs/architecture.md, so the
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


def reachable(name):
    seen, todo = set(), [name]
    while todo:
        for dep in deps.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


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
        owner[header] = module
for header in sorted((repo / "include/tailor").glob("*.h")):
    if header.name not in owner:
        problems.append(f"docs/architecture.md: no module owns include/tailor/{header.name}")

include_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def owner_of(include):
    if include.startswith("tailor/"):
        return owner.get(include[len("tailor/"):])
    head = include.split("/")[0]
    return head if head in deps and "/" in include else None


# --- Every file of every module ----------------------------------------------------------------
for module in sorted(deps):
    allowed = reachable(module) | {module}
    used_modules = set()
    own_headers = [repo / "include/tailor" / h for h, m in owner.items() if m == module]
    for path in sorted((repo / "src" / module).glob("*")) + sorted(own_headers):
        if path.suffix not in (".h", ".cc", ".in") or not path.exists():
            continue
        for include in include_re.findall(path.read_text()):
            used = owner_of(include)
            if used is None:
                continue
            used_modules.add(used)
            if used not in allowed:
                problems.append(f"{path.relative_to(repo)}: module {module} includes {include} "
                                f"of module {used}, which it does not depend on")
    # A declared dependency is used: directly, or it is the way to a module that is.
    for dep in sorted(deps[module]):
        if dep not in used_modules and not (reachable(dep) & used_modules):
            problems.append(f"CMakeLists.txt: module {module} declares {dep} but uses nothing "
                            f"of it or of what it depends on")

for path in sorted((repo / "tools").rglob("*")):
    if path.suffix not in (".h", ".cc"):
        continue
    for include in include_re.findall(path.read_text()):
        if "/" in include and not include.startswith("tailor/"):
            problems.append(f"{path.relative_to(repo)}: a front end includes private {include}")

for problem in problems:
    print(problem)
if problems:
    print(f"module dependencies: {len(problems)} problem(s)")
    sys.exit(1)
print(f"module dependencies: {len(deps)} modules, {len(owner)} public headers, all as declared")
