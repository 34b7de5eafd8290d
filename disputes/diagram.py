"""Render the workflow table as a Mermaid state diagram (docs/disputes.md holds the result)."""

from disputes.workflow import TRANSITIONS


def mermaid() -> str:
    lines = ["stateDiagram-v2", "    [*] --> awaiting_seller: buyer opens"]
    seen = set()
    for transition in TRANSITIONS:
        for source in transition.sources:
            for target in transition.targets:
                line = f"    {source} --> {target}: {transition.party} {transition.action}"
                if line not in seen:
                    seen.add(line)
                    lines.append(line)
    lines += ["    resolved --> [*]", "    cancelled --> [*]"]
    return "\n".join(lines)
