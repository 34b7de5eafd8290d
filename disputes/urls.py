from django.urls import path

from disputes import more_time_pages, request_pages, views

app_name = "disputes"
urlpatterns = [
    path("", views.dispute_list_view, name="list"),
    path("<int:pk>/", views.dispute_detail_view, name="detail"),
    path("requests/<int:pk>/", request_pages.request_detail_view, name="request"),
    path("requests/<int:pk>/<slug:action>/", request_pages.request_act_view, name="request-act"),
    path("<int:pk>/evidence/", views.evidence_view, name="evidence"),
    path("<int:pk>/more-time/", more_time_pages.more_time_view, name="more-time"),
    path("<int:pk>/more-time/answer/", more_time_pages.more_time_answer_view, name="more-time-answer"),
    path("<int:pk>/<slug:action>/", views.dispute_act_view, name="act"),
    path("<int:pk>/<slug:action>/confirm/", views.dispute_confirm_view, name="confirm"),
]
