"""The audit trail: who did what to which dispute or order, and every refusal, as one event each."""

import logging

audit_log = logging.getLogger("dispute_desk.audit")


def audit(event: str, /, **fields) -> None:
    """Record `event` (e.g. "dispute.transition") with its fields (dispute=, order=, actor=, why=...)."""
    audit_log.info(event, extra={"audit": fields})
