from django.urls import path

from disputes.views import dispute_open_view
from orders import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("<str:number>/", views.order_detail, name="detail"),
    path("<str:number>/extension/", views.extension_request_view, name="extension"),
    path("<str:number>/dispute/new/", dispute_open_view, name="dispute-open"),
    path("<str:number>/extension/grant/", views.extension_grant_view, name="extension-grant"),
]
