import django_filters
from django.utils import timezone

from orders.models import Order, OrderStatus
from orders.window import WindowState


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    window = django_filters.ChoiceFilter(
        choices=[(s.value, s.value) for s in WindowState], method="filter_window", label="window"
    )

    class Meta:
        model = Order
        fields = ["status", "window"]

    def filter_window(self, queryset, name, value):
        now = timezone.now()
        if value == WindowState.NOT_YET_OPEN:
            return queryset.filter(window_opens_at__gt=now)
        if value == WindowState.OPEN:
            return queryset.filter(window_opens_at__lte=now, window_closes_at__gt=now)
        return queryset.filter(window_closes_at__lte=now)
