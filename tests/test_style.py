"""Functions a reader can hold: no function body is longer than a screen.

Ruff has no rule for a function's length, so this test is that rule: at most ``MAX_LINES`` lines
below the docstring. A function may be longer only with a comment ``long: <why>`` on its ``def``
line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src" / "sessionkit"
MAX_LINES = 50


def body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the end."""
    body = function.body
    first = body[0]
    has_docstring = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    start = (first.end_lineno or first.lineno) + 1 if has_docstring and body[1:] else first.lineno
    return (function.end_lineno or function.lineno) - start + 1


def long_functions(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            waived = re.search(r"#.*\blong: \w", lines[node.lineno - 1]) is not None
            if body_lines(node) > MAX_LINES and not waived:
                found.append(f"{path.name}:{node.lineno} {node.name} ({body_lines(node)} lines)")
    return found


def test_no_function_is_longer_than_a_screen() -> None:
    """Every function in src fits in MAX_LINES lines, or says on its def line why not."""
    assert [f for path in sorted(SOURCE.rglob("*.py")) for f in long_functions(path)] == []


def test_the_rule_sees_a_long_function(tmp_path: Path) -> None:
    """A function of MAX_LINES + 1 statements is found; with a waiver it is not."""
    body = "".join(f"    x{n} = {n}\n" for n in range(MAX_LINES + 1))
    (tmp_path / "a.py").write_text(f"def f():\n{body}")
    (tmp_path / "b.py").write_text(f"def f():  # long: generated\n{body}")
    assert long_functions(tmp_path / "a.py") == [f"a.py:1 f ({MAX_LINES + 1} lines)"]
    assert long_functions(tmp_path / "b.py") == []
