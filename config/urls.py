from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api import LogoutView, TokenView
from accounts.signin import CodeView, SignInView
from accounts.views import admin_login, home, preferences, two_step_setup
from core.api import DocsPermission
from core.health import healthz, readyz
from core.metrics import metrics_view
from disputes import api as disputes_api
from disputes import case_api, order_pages, request_api
from disputes.views import dispute_open_view
from messaging import api as messaging_api
from orders import api as orders_api
from sellers import api as sellers_api
from sellers.views import policy_edit

api_patterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
    path("carriers/", orders_api.CarrierListApi.as_view(), name="carriers"),
    path("orders/", orders_api.OrderListCreateApi.as_view(), name="orders"),
    path("orders/<str:number>/", orders_api.OrderDetailApi.as_view(), name="order"),
    path("orders/<str:number>/shipment/", orders_api.ShipmentApi.as_view(), name="order-shipment"),
    path("orders/<str:number>/delivery/", orders_api.DeliveryApi.as_view(), name="order-delivery"),
    path("orders/<str:number>/extension/", orders_api.ExtensionRequestApi.as_view(), name="order-extension"),
    path("orders/<str:number>/extension/grant/", orders_api.ExtensionGrantApi.as_view(), name="order-extension-grant"),
    path(
        "orders/<str:number>/extension/decline/",
        orders_api.ExtensionDeclineApi.as_view(),
        name="order-extension-decline",
    ),
    path("orders/<str:number>/messages/", messaging_api.ThreadApi.as_view(), name="order-messages"),
    path("orders/<str:number>/messages/read/", messaging_api.ThreadReadApi.as_view(), name="order-messages-read"),
    path("messages/unread/", messaging_api.UnreadApi.as_view(), name="unread"),
    path("notifications/", messaging_api.NotificationsApi.as_view(), name="notifications"),
    path("notifications/read/", messaging_api.NotificationsReadApi.as_view(), name="notifications-read"),
    path("orders/<str:number>/dispute/", disputes_api.DisputeOpenApi.as_view(), name="order-dispute"),
    path("disputes/", disputes_api.DisputeListApi.as_view(), name="disputes"),
    path("disputes/<int:pk>/", disputes_api.DisputeDetailApi.as_view(), name="dispute"),
    path("disputes/<int:pk>/proposals/", disputes_api.ProposalApi.as_view(), name="dispute-proposals"),
    path("disputes/<int:pk>/accept/", disputes_api.AcceptApi.as_view(), name="dispute-accept"),
    path("disputes/<int:pk>/reject/", disputes_api.RejectApi.as_view(), name="dispute-reject"),
    path("disputes/<int:pk>/escalate/", disputes_api.EscalateApi.as_view(), name="dispute-escalate"),
    path("disputes/<int:pk>/cancel/", disputes_api.CancelApi.as_view(), name="dispute-cancel"),
    path("disputes/<int:pk>/evidence/", disputes_api.EvidenceApi.as_view(), name="dispute-evidence"),
    path(
        "disputes/<int:pk>/return-shipment/", disputes_api.ReturnShipmentApi.as_view(), name="dispute-return-shipment"
    ),
    path(
        "disputes/<int:pk>/return-received/", disputes_api.ReturnReceivedApi.as_view(), name="dispute-return-received"
    ),
    path("disputes/<int:pk>/ruling/", disputes_api.RulingApi.as_view(), name="dispute-ruling"),
    path("disputes/<int:pk>/appeal/", disputes_api.AppealApi.as_view(), name="dispute-appeal"),
    path("disputes/<int:pk>/claim/", disputes_api.ClaimApi.as_view(), name="dispute-claim"),
    path("disputes/<int:pk>/release/", disputes_api.ReleaseApi.as_view(), name="dispute-release"),
    path("disputes/<int:pk>/take-over/", disputes_api.TakeOverApi.as_view(), name="dispute-take-over"),
    path("disputes/<int:pk>/pause/", disputes_api.PauseApi.as_view(), name="dispute-pause"),
    path("disputes/<int:pk>/resume/", disputes_api.ResumeApi.as_view(), name="dispute-resume"),
    path("disputes/<int:pk>/more-time/", disputes_api.MoreTimeApi.as_view(), name="dispute-more-time"),
    path(
        "disputes/<int:pk>/more-time/answer/", disputes_api.MoreTimeAnswerApi.as_view(), name="dispute-more-time-answer"
    ),
    path("cases/", case_api.CaseListCreateApi.as_view(), name="cases"),
    path("cases/<int:pk>/", case_api.CaseDetailApi.as_view(), name="case"),
    path("cases/<int:pk>/disputes/", case_api.CaseDisputesApi.as_view(), name="case-disputes"),
    path("cases/<int:pk>/disputes/<int:dispute>/", case_api.CaseDisputeApi.as_view(), name="case-dispute"),
    path("cases/<int:pk>/ruling/", case_api.CaseRulingApi.as_view(), name="case-ruling"),
    path("cases/<int:pk>/ruling/approve/", case_api.CaseRulingApproveApi.as_view(), name="case-ruling-approve"),
    path("cases/<int:pk>/ruling/withdraw/", case_api.CaseRulingWithdrawApi.as_view(), name="case-ruling-withdraw"),
    path("orders/<str:number>/requests/", request_api.RequestOpenApi.as_view(), name="order-requests"),
    path("requests/", request_api.RequestListApi.as_view(), name="requests"),
    path("requests/<int:pk>/", request_api.RequestDetailApi.as_view(), name="request"),
    *(
        path(f"requests/<int:pk>/{slug}/", view.as_view(), name=f"request-{slug}")
        for slug, view in (
            ("approve", request_api.RequestApproveApi),
            ("decline", request_api.RequestDeclineApi),
            ("return-shipment", request_api.RequestReturnShipmentApi),
            ("return-received", request_api.RequestReturnReceivedApi),
            ("replacement-shipment", request_api.RequestReplacementShipmentApi),
            ("confirm", request_api.RequestConfirmApi),
            ("cancel", request_api.RequestCancelApi),
            ("to-dispute", request_api.RequestToDisputeApi),
        )
    ),
    path("sellers/<slug:slug>/return-policy/", sellers_api.ReturnPolicyApi.as_view(), name="return-policy"),
    # Open in development; only for signed-in users in production (API_DOCS_PUBLIC).
    path("schema/", SpectacularAPIView.as_view(permission_classes=[DocsPermission]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", permission_classes=[DocsPermission]),
        name="docs",
    ),
]

# The order pages span orders, messaging and disputes; the seller's pages span sellers and orders.
# Each namespace is mounted here, from the views of the apps it spans (docs/architecture.md).
order_pages_patterns = [
    path("", order_pages.order_list, name="list"),
    path("<str:number>/", order_pages.order_detail, name="detail"),
    path("<str:number>/extension/", order_pages.extension_request_view, name="extension"),
    path("<str:number>/dispute/new/", dispute_open_view, name="dispute-open"),
    path("<str:number>/request/new/", order_pages.request_open, name="request-open"),
    path("<str:number>/extension/grant/", order_pages.extension_grant_view, name="extension-grant"),
    path("<str:number>/extension/decline/", order_pages.extension_decline_view, name="extension-decline"),
]
seller_pages_patterns = [
    path("orders/", order_pages.store_orders, name="orders"),
    path("policy/", policy_edit, name="policy"),
]

admin.site.site_header = _("Dispute desk")
admin.site.site_title = _("Dispute desk")
admin.site.index_title = _("Dispute team")

urlpatterns = [
    # Probes and the scraper: no sign-in, no throttle, no redirect (docs/operations.md).
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("", home, name="home"),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/login/code/", CodeView.as_view(), name="two_step_code"),
    path("accounts/two-step/", two_step_setup, name="two_step_setup"),
    path("accounts/settings/", preferences, name="preferences"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("messaging.urls")),
    # The thread's form on the order page posts here; errors come back on the order page.
    path("orders/<str:number>/messages/", order_pages.message_post_view, name="message-post"),
    path("orders/", include((order_pages_patterns, "orders"))),
    path("disputes/", include("disputes.urls")),
    path("seller/", include((seller_pages_patterns, "sellers"))),
    path("api/", include((api_patterns, "api"))),
    # Admin signs in through the same door as the pages: one throttle, and the code step.
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
