"""The site's own addresses, plus the floor: a bare Django view that reads one row and returns it as
JSON, served by the same gunicorn, settings and middleware as the reads it is compared with."""

from django.http import JsonResponse
from django.urls import include, path

from orders.models import Order


def floor(request, number: str):
    row = Order.objects.filter(number=number).values("number", "status", "total", "currency", "shipped_at").first()
    return JsonResponse(row or {}, status=200 if row else 404)


urlpatterns = [path("bench/floor/<str:number>/", floor), path("", include("config.urls"))]
