from pathlib import Path

from disputes.diagram import mermaid


def test_the_state_diagram_in_the_docs_matches_the_workflow_table():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "disputes.md").read_text()
    assert mermaid() in docs, "run: manage.py dispute_diagram --write"
