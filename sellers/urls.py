from django.urls import path

from sellers import views

app_name = "sellers"
urlpatterns = [
    path("orders/", views.store_orders, name="orders"),
    path("policy/", views.policy_edit, name="policy"),
]
