from django.urls import path

from messaging import views

urlpatterns = [
    path("photos/<str:photo_id>/", views.PhotoView.as_view(), name="photo"),
    path("photos/<str:photo_id>/thumbnail/", views.PhotoThumbnailView.as_view(), name="photo-thumbnail"),
    path("messages/unread/", views.unread_list, name="unread-messages"),
    path("notifications/", views.notifications_view, name="notifications"),
    path("seller/inbox/", views.seller_inbox, name="seller-inbox"),
    path(
        "orders/<str:number>/messages/<int:message_id>/translation/",
        views.message_translation,
        name="message-translation",
    ),
]
