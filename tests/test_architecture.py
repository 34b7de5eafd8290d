"""The import graph flows one way (docs/architecture.md draws it).

Each app may import its own modules and the apps below it, never one above it: imports inside
functions count too. The only exceptions are the wiring listed in ALLOWED, each with its reason.
No import circle may run through files of two different apps.
"""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. `config` is the top: settings, URLs, Celery and the wiring that joins the apps.
LAYERS = ["core", "accounts", "sellers", "orders", "notifications", "messaging", "disputes", "config"]
RANK = {app: rank for rank, app in enumerate(LAYERS)}

# (importing file, imported module): why this upward arrow is wiring, not a dependency.
ALLOWED: dict[tuple[str, str], str] = {}

# Links by name rather than by import (a model named "app.Model" in a relation, a migration's
# dependency on another app): (file, app above): why.
ALLOWED_BY_NAME: dict[tuple[str, str], str] = {
    ("accounts/migrations/0002_role_groups.py", "orders"): "the role groups are given each app's permissions, "
    "which exist once that app's tables do: wiring of the groups, not code that uses those apps",
    ("accounts/migrations/0002_role_groups.py", "sellers"): "as above: the groups' permissions on stores",
    ("accounts/migrations/0002_role_groups.py", "messaging"): "as above: the team may read threads and messages",
    ("accounts/migrations/0002_role_groups.py", "disputes"): "as above: the team's permissions on disputes",
    ("notifications/migrations/0001_initial.py", "messaging"): "the Notification model moved here from messaging; "
    "the new app takes over its state after messaging lets it go (0007), so the order is fixed once",
    ("messaging/models.py", "disputes"): "Photo.evidence: one photo table and one pipeline for messages and "
    "dispute evidence; the evidence link is the one data link that runs up (a join table in disputes would "
    "remove it: noted as follow-up)",
    ("messaging/migrations/0002_photo_evidence.py", "disputes"): "the migration of Photo.evidence, above",
}


def _modules() -> dict[str, Path]:
    found = {}
    for app in LAYERS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every project module this file imports, at any depth (functions, methods, conditionals)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(ROOT).parent.parts)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.append((base, node.lineno))
            names += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return [(name, line) for name, line in names if name.split(".")[0] in RANK]


def _app(module: str) -> str:
    return module.split(".")[0]


def test_no_app_imports_one_above_it():
    upward = []
    for module, path in _modules().items():
        here = _app(module)
        for imported, line in _imports(path):
            there = _app(imported)
            if RANK[there] > RANK[here]:
                rel = str(path.relative_to(ROOT))
                if (rel, imported) not in ALLOWED and (rel, imported.rsplit(".", 1)[0]) not in ALLOWED:
                    upward.append(f"{rel}:{line} imports {imported} ({here} is below {there})")
    assert not upward, "Imports that run up the layers:\n" + "\n".join(sorted(set(upward)))


def test_every_project_app_has_a_layer():
    from django.conf import settings

    ours = [app for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()]
    assert sorted([*ours, "config"]) == sorted(LAYERS), "a new app needs its place in LAYERS (and the diagram)"


def _links_by_name(path: Path) -> list[tuple[str, int]]:
    """Apps this file names: "app.Model" in a relation field or get_model, and migration dependencies."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name in {"ForeignKey", "OneToOneField", "ManyToManyField", "get_model", "import_string"}:
                values = [*node.args, *(k.value for k in node.keywords if k.arg in {"to", "app_label", "dotted_path"})]
                for arg in values:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.append((arg.value.split(".")[0], node.lineno))
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "dependencies" for t in node.targets):
            for elt in getattr(node.value, "elts", []):
                if isinstance(elt, ast.Tuple) and elt.elts and isinstance(elt.elts[0], ast.Constant):
                    found.append((elt.elts[0].value, node.lineno))
    return [(app, line) for app, line in found if app in RANK]


def test_no_app_names_one_above_it_in_a_relation_or_a_migration():
    upward = []
    for module, path in _modules().items():
        here = _app(module)
        rel = str(path.relative_to(ROOT))
        for there, line in _links_by_name(path):
            if RANK[there] > RANK[here] and (rel, there) not in ALLOWED_BY_NAME:
                upward.append(f"{rel}:{line} names {there} ({here} is below {there})")
    assert not upward, "Links by name that run up the layers:\n" + "\n".join(sorted(set(upward)))


def test_every_allowed_exception_is_still_needed_and_explained():
    modules = _modules()
    used = set()
    for _module, path in modules.items():
        rel = str(path.relative_to(ROOT))
        for imported, _line in _imports(path):
            used |= {(rel, imported), (rel, imported.rsplit(".", 1)[0])}
    for key, reason in ALLOWED.items():
        assert key in used, f"{key} is allowed but no longer imported: drop it from ALLOWED"
        assert len(reason) > 20, f"{key} needs a reason"
    named = {(str(path.relative_to(ROOT)), app) for path in modules.values() for app, _line in _links_by_name(path)}
    for key, reason in ALLOWED_BY_NAME.items():
        assert key in named, f"{key} is allowed but no longer named: drop it from ALLOWED_BY_NAME"
        assert len(reason) > 20, f"{key} needs a reason"


def test_no_import_circle_spans_two_apps():
    modules = _modules()
    graph = defaultdict(set)
    for module, path in modules.items():
        for imported, _line in _imports(path):
            # `from a.b import c`: c may be a module or a name in a.b; take the longest known module.
            target = imported
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != module:
                graph[module].add(target)
    # Tarjan's strongly connected components.
    index, low, stack, on_stack, circles, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len({_app(m) for m in component}) > 1:
                circles.append(sorted(component))

    for node in list(modules):
        if node not in index:
            visit(node)
    assert not circles, "Import circles across apps:\n" + "\n".join(", ".join(c) for c in circles)


def test_no_module_asks_a_context_variable_whether_it_is_inside_a_sweep():
    """The sweep's gathering of writes is an object handed to whoever writes (disputes/writes.py)."""
    offenders = [str(path.relative_to(ROOT)) for path in _modules().values() if "ContextVar" in path.read_text()]
    assert not offenders


def test_no_comment_points_outside_the_repository():
    """The rules and the API contract the code cites live in docs/ (rules.md, openapi.yaml)."""
    outside = ("DESIGN" + ".md", "API" + ".md", "../" + "shared")
    offenders = []
    for path in [*(ROOT / app for app in LAYERS), ROOT / "tests", ROOT / "bench", ROOT / "docs", ROOT / "templates"]:
        for file in path.rglob("*"):
            if file.suffix in {".py", ".md", ".html", ".txt"} and file.is_file():
                text = file.read_text()
                offenders += [f"{file.relative_to(ROOT)} cites {name}" for name in outside if name in text]
    readme = (ROOT / "README.md").read_text()
    offenders += [f"README.md cites {name}" for name in outside if name in readme]
    assert not offenders, "\n".join(offenders)
