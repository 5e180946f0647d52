"""REST endpoints for comments (mobile app, integrations): list a stream's comments and moderate them.

The same rules as the studio panel: the stream's owner and its moderators only (a guest
gets 403, anyone else 404), and every action is the same service the HTMX views call.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.rest import errors
from apps.engagement import selectors, services
from apps.engagement.models import Comment, Platform
from apps.streams.seats import stream_for_moderation


class CommentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    stream = serializers.IntegerField()
    platform = serializers.ChoiceField(choices=Platform.choices)
    author_name = serializers.CharField()
    author_id = serializers.CharField()
    author_initial = serializers.CharField()
    avatar_url = serializers.CharField()
    text = serializers.CharField()
    created_at = serializers.CharField()
    status = serializers.ChoiceField(choices=Comment.Status.choices)
    moderation_reason = serializers.CharField()
    pinned = serializers.BooleanField()
    on_screen = serializers.BooleanField()


def _stream(request: Request, stream_id: int) -> Any:
    # DRF turns Django's PermissionDenied into 403 and Http404 into 404, as for the panel.
    return stream_for_moderation(request, stream_id)


class StreamCommentListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("platform", str, enum=Platform.values, description="Only comments from this platform"),
            OpenApiParameter("status", str, enum=Comment.Status.values, description="Only comments in this state"),
        ],
        responses={
            200: CommentOutputSerializer(many=True),
            **errors(e403="You are a guest in this studio, not its host or a moderator."),
        },
        operation_id="stream_comments_list",
    )
    def get(self, request: Request, pk: int) -> Response:
        stream = _stream(request, pk)
        comments = selectors.panel_comments(
            stream=stream,
            platform=request.query_params.get("platform", ""),
            status=request.query_params.get("status", ""),
        )
        return Response([services.comment_payload(c) for c in comments])


class CommentActionApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: CommentOutputSerializer,
            **errors(e403="You are a guest in this studio, not its host or a moderator."),
        },
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=list(services.COMMENT_ACTIONS))],
        operation_id="comment_action",
        summary="Moderate a comment: approve, hide, pin, unpin, show or queue it on screen, or ban its author",
    )
    def post(self, request: Request, pk: int, action: str) -> Response:
        comment = get_object_or_404(Comment.objects.select_related("stream"), pk=pk)
        _stream(request, comment.stream_id)  # 403 for a guest, 404 for a stranger, before anything else
        if action not in services.COMMENT_ACTIONS:
            return Response({"detail": "Unknown action."}, status=404)
        services.COMMENT_ACTIONS[action](comment, request.user)
        comment.refresh_from_db()
        return Response(services.comment_payload(comment))


class CommentsOffScreenApi(APIView):
    @extend_schema(
        request=None,
        responses={204: None},
        operation_id="stream_comments_off_screen",
        summary="Take the comment card off the program",
    )
    def post(self, request: Request, pk: int) -> Response:
        services.comment_take_off_screen(stream=_stream(request, pk), by=request.user)
        return Response(status=204)
