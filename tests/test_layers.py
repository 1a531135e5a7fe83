"""The layers point one way: core <- storage <- replay <- spark <- cli, testing on top of all.

Read from the modules' own import statements (with ``ast``), so a new upward or private import
fails here, not in review.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "sessionkit"

#: Each layer and the layers it may import.
MAY_IMPORT = {
    "core": {"core"},
    "storage": {"core", "storage"},
    "replay": {"core", "storage", "replay"},
    "spark": {"core", "storage", "replay", "spark"},
    "otel": {"core", "storage", "replay", "otel"},
    "cli": {"core", "storage", "replay", "spark", "cli"},
    "testing": {"core", "storage", "replay", "spark", "otel", "cli", "testing"},
}
IO_MODULES = ("sqlite3", "csv", "gzip", "email", "zoneinfo", "fcntl", "dateutil")


def layer_of(module: str) -> str:
    """``sessionkit.storage._sqlite`` -> ``storage``; the top-level modules are the core."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in MAY_IMPORT:
        return parts[1]
    if parts[1:] == ["__main__"]:
        return "cli"
    return "core"


def package_of(module: str) -> str:
    """The package a module belongs to: ``sessionkit.storage._sqlite`` -> ``sessionkit.storage``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if layer_of(module) != "core" else "sessionkit"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` for every import statement in the file (any depth)."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def sessionkit_edges() -> list[tuple[str, str, list[str]]]:
    """``(importer, imported, names)`` for every import of sessionkit by sessionkit."""
    return [
        (name, target, names)
        for name, path in modules().items()
        for target, names in imports(path)
        if target == "sessionkit" or target.startswith("sessionkit.")
    ]


def test_no_upward_import() -> None:
    """No module imports a layer above its own."""
    upward = [
        f"{importer} -> {imported}"
        for importer, imported, _ in sessionkit_edges()
        if layer_of(imported) not in MAY_IMPORT[layer_of(importer)]
    ]
    assert upward == []


def test_no_private_name_of_another_package() -> None:
    """A ``_private`` module or name is used only inside its own package."""
    private = []
    for importer, imported, names in sessionkit_edges():
        if package_of(importer) == package_of(imported):
            continue
        hidden = [part for part in imported.split(".") if part.startswith("_")]
        hidden += [name for name in names if name.startswith("_") and name != "__version__"]
        if hidden:
            private.append(f"{importer} -> {imported} {names}")
    assert private == []


def test_the_core_imports_only_the_standard_library_and_attrs() -> None:
    """The core's third-party imports are attrs alone."""
    allowed = set(sys.stdlib_module_names) | {"attrs", "sessionkit"}
    outside = [
        f"{name}: {target}"
        for name, path in modules().items()
        if layer_of(name) == "core"
        for target, _ in imports(path)
        if target.split(".")[0] not in allowed
    ]
    assert outside == []


def test_the_edges_found_are_real() -> None:
    """The graph reader sees the imports it must judge (so the tests above can fail)."""
    edges = {(a, b) for a, b, _ in sessionkit_edges()}
    assert ("sessionkit.storage._tracker", "sessionkit") in edges
    assert ("sessionkit.cli._replay_command", "sessionkit.storage") in edges
    assert layer_of("sessionkit.storage._sqlite") == "storage"
    assert layer_of("sessionkit._sessionizer") == "core"


def loaded_by(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after ``statement``."""
    probe = f"import sys\n{statement}\nprint(' '.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_import_sessionkit_loads_no_io_module() -> None:
    """``import sessionkit`` in a fresh interpreter loads none of the I/O stack.

    What attrs itself loads is not the core's doing (on Python 3.10, attrs imports ``platform``,
    which brings ``subprocess`` and ``fcntl``), so it is taken away first.
    """
    added = loaded_by("import sessionkit") - loaded_by("import attrs")
    assert [module for module in IO_MODULES if module in added] == []
    assert "sessionkit._sessionizer" in added  # the probe sees what the import loads


@pytest.mark.parametrize(("package", "expected"), [("storage", "sqlite3"), ("replay", "dateutil")])
def test_the_probe_sees_io_modules(package: str, expected: str) -> None:
    """The same probe finds the I/O modules the outer layers do load."""
    probe = f"import sys, sessionkit.{package}\nprint({expected!r} in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
