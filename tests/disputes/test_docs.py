from pathlib import Path

from disputes.diagram import clock_table, mermaid

DOCS = Path(__file__).resolve().parents[2] / "docs" / "disputes.md"


def test_the_state_diagram_in_the_docs_matches_the_workflow_table():
    assert mermaid() in DOCS.read_text(), "run: manage.py dispute_diagram --write"


def test_the_clock_table_in_the_docs_matches_the_workflow_clocks():
    assert clock_table() in DOCS.read_text(), "run: manage.py dispute_diagram --write"
