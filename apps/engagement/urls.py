from django.urls import path

from apps.engagement import api, views

app_name = "engagement"

urlpatterns = [
    path("studio/<int:stream_id>/comments/", views.panel, name="panel"),
    path("studio/<int:stream_id>/comments/mode/", views.set_mode, name="set_mode"),
    path("studio/<int:stream_id>/comments/off-screen/", views.take_off_screen, name="take_off_screen"),
    path("studio/<int:stream_id>/comments/chat/", views.studio_chat, name="studio_chat"),
    path("studio/<int:stream_id>/comments/webhook-secret/", views.webhook_secret, name="webhook_secret"),
    path(
        "studio/<int:stream_id>/comments/<int:comment_id>/<slug:action>/",
        views.comment_action,
        name="comment_action",
    ),
]

api_urlpatterns = [
    path("engagement/streams/<int:stream_id>/comments/", views.webhook, name="engagement-webhook"),
    path("streams/<int:pk>/comments/", api.StreamCommentListApi.as_view(), name="api-stream-comments"),
    path("streams/<int:pk>/comments/off-screen/", api.CommentsOffScreenApi.as_view(), name="api-stream-comments-off"),
    path("comments/<int:pk>/<slug:action>/", api.CommentActionApi.as_view(), name="api-comment-action"),
]
