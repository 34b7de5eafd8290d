from django.urls import path

from disputes import views

app_name = "disputes"
urlpatterns = [
    path("", views.dispute_list_view, name="list"),
    path("<int:pk>/", views.dispute_detail_view, name="detail"),
    path("<int:pk>/evidence/", views.evidence_view, name="evidence"),
    path("<int:pk>/<slug:action>/", views.dispute_act_view, name="act"),
    path("<int:pk>/<slug:action>/confirm/", views.dispute_confirm_view, name="confirm"),
]
