from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "disputes"

    def ready(self) -> None:
        from disputes.selectors import dispute_is_with_team, with_dispute
        from messaging.services import team_posting_rule_set
        from orders.selectors import order_annotation_add

        # The team joins an order's thread once its dispute is escalated to them.
        team_posting_rule_set(dispute_is_with_team)
        # Every order read for a page or the API carries its latest dispute's id and state.
        order_annotation_add(with_dispute)
