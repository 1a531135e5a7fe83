"""Every Python example in README.md and docs/ runs, so the documentation cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: docs/scaling.md's examples need a Spark session: tests/test_spark.py runs them.
DOCUMENTS = sorted(
    [ROOT / "README.md", *(p for p in (ROOT / "docs").glob("*.md") if p.name != "scaling.md")]
)
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_examples_run(document: Path) -> None:
    """The file's python blocks run in order, in one namespace, and their asserts hold."""
    blocks = BLOCK.findall(document.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": f"docs_{document.stem}"}
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"{document.name} (python block {number})", "exec")
        exec(code, namespace)


def test_rules_document_has_an_example_per_rule() -> None:
    """docs/rules.md shows each of the eleven rules with a worked example."""
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    for number in range(1, 12):
        section = text.split(f"### {number}. ", 1)[1].split("\n### ", 1)[0]
        assert "```python" in section, f"rule {number} has no example"


def test_testing_guide_shows_the_failure_exactly_as_printed() -> None:
    """docs/testing.md's failure message is what assert_sessions prints, to the character."""
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    shown = text.split("```text\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    for block in BLOCK.findall(text):
        exec(compile(block, "testing.md", "exec"), namespace)
    failure = namespace["failure"]
    assert str(failure.value) + "\n" == shown  # type: ignore[attr-defined]


def test_quickstart_prints_the_bundled_conversation_as_trees() -> None:
    """examples/quickstart.py prints four sessions, with indented threads."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert sum(line.startswith("session ") for line in lines) == 4
    assert "session ticket-4417 [explicit, closed (ended)]" in lines
    assert "            09:00:02  agent support-agent: orders.lookup(1182)" in lines
    assert done.stderr == ""
