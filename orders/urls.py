from django.urls import path

from orders import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("<str:number>/", views.order_detail, name="detail"),
    path("<str:number>/extension/", views.extension_request_view, name="extension"),
    path("<str:number>/extension/grant/", views.extension_grant_view, name="extension-grant"),
]
