"""Render the workflow table as a Mermaid state diagram, and the clock table as Markdown
(docs/disputes.md holds both; tests/disputes/test_docs.py fails when they drift apart)."""

from django.conf import settings

from disputes.states import CLOCKS, NEW
from disputes.workflow import TRANSITIONS


def mermaid() -> str:
    lines = ["stateDiagram-v2"]
    seen = set()
    for transition in TRANSITIONS:
        for source in transition.sources:
            for target in transition.targets:
                start = "[*]" if source == NEW else source
                line = f"    {start} --> {target}: {transition.party} {transition.action}"
                if line not in seen:
                    seen.add(line)
                    lines.append(line)
    lines += ["    resolved --> [*]", "    cancelled --> [*]"]
    return "\n".join(lines)


def clock_table() -> str:
    lines = [
        "| clock | states | deadline column | length (setting) | waits for | when it runs out |",
        "|---|---|---|---|---|---|",
    ]
    for clock in CLOCKS:
        expiry = f"`{clock.expiry}`: " if clock.expiry else ""
        lines.append(
            f"| {clock.name} | {', '.join(clock.states)} | `{clock.column}` | "
            f"{getattr(settings, clock.setting)} days (`{clock.setting}`) | {clock.waits_for} | "
            f"{expiry}{clock.what_happens} |"
        )
    return "\n".join(lines)
