"""The audit trail: who did what to which dispute or order, and every refusal, as one event each.

An event is named `<thing>.<what happened>` ("dispute.transition", "order.refused", "token.revoked")
and carries named fields (dispute=, order=, action=, actor=, why=...). It is written to the
"dispute_desk.audit" logger with the fields as `extra={"audit": ...}`: each log line has them as its
own keys (core/logs.py), beside the request id of the request or task that did it.
"""

import logging

audit_log = logging.getLogger("dispute_desk.audit")


def audit(event: str, /, **fields) -> None:
    """Record `event` (e.g. "dispute.transition") with its fields (dispute=, order=, actor=, why=...)."""
    audit_log.info(event, extra={"audit": fields})
