from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = _("Disputes")

    def ready(self) -> None:
        from core.metrics import collector_add
        from disputes.metrics import DeskCollector
        from disputes.notices import moved_on, tell_extension
        from disputes.selectors import ORDER_VERSION_PARTS, dispute_is_with_team, order_claims, with_dispute
        from messaging.services import team_posting_rule_set
        from notifications.render import moved_on_check_set
        from orders.selectors import order_annotation_add, order_claims_reader_add, order_version_part_add
        from orders.services import order_event_listener_add

        # The team joins an order's thread once its dispute is escalated to them.
        team_posting_rule_set(dispute_is_with_team)
        # Every order read for a page or the API carries its latest dispute's id and state.
        order_annotation_add(with_dispute)
        # An order's detail lists its disputes and return/exchange requests, per item.
        order_claims_reader_add(order_claims)
        # ... so a cached order detail is read again when one of those changes.
        for part in ORDER_VERSION_PARTS:
            order_version_part_add(part)
        # Extension requests and answers are told to the other side of the order.
        order_event_listener_add(tell_extension)
        # A notice asking someone to act on a dispute drops that call once the dispute moved on.
        moved_on_check_set(moved_on)
        # /metrics shows the desk's work (disputes by state, overdue clocks, refunds, open reviews).
        collector_add(DeskCollector())
