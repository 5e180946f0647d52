"""API helpers shared by every app: errors, pages, and the OpenAPI schema that describes them exactly.

The schema (drf-spectacular, /api/v1/schema/) documents every answer an operation can give. Views
declare their successes and the errors only they produce (`errors(409, 410)` in `extend_schema`);
`AutoSchema` adds the errors every view of a kind can answer, from what the view is:

    400  the request has a body, or is a write (services validate)   ValidationError (field → messages)
    401  the view needs a signed-in user                              Error, WWW-Authenticate
    403  a signed-in write (a cookie or session without its CSRF token) Error
    404  the path names an object (not yours, or no such one)          Error
    413  the request has a body, larger than apps.core.bodylimit allows  Error
    415  the request has a body in a type the view does not parse     Error
    429  the view is rate-limited                                     Error, Retry-After when known
    503  always: the database cannot be reached (or LiveKit, where declared) Error, Retry-After

Each error is one shared response component (`#/components/responses/NotFound`...) around one of
two bodies: `Error` ({"detail": "..."}) or `ValidationError` (what `exception_handler` answers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.db.models import QuerySet
from django.urls.converters import get_converters
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.pagination import LimitOffsetPagination

if TYPE_CHECKING:
    from apps.accounts.models import User


DATABASE_UNAVAILABLE = "The database cannot be reached right now, so nothing was saved. Try again in a few seconds."
DATABASE_RETRY_AFTER_SECONDS = 5


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Services raise Django's ValidationError; the API answers it as a 400 with field messages. A database
    that cannot be reached is a 503 that says nothing was saved (services write in one transaction)."""
    if isinstance(exc, DatabaseError):
        return Response(
            {"detail": DATABASE_UNAVAILABLE},
            status=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, DjangoValidationError):
        if getattr(exc, "code", None) == "rate_limited":  # a service's rate limit is a 429, not a 400
            exc = exceptions.Throttled(detail=" ".join(exc.messages))
        elif hasattr(exc, "message_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"detail": exc.messages})
    return drf_exception_handler(exc, context)


class MediaServerUnavailable(exceptions.APIException):
    """LiveKit cannot be reached: the client tries again shortly."""

    status_code = 503
    default_detail = "The media server cannot be reached right now; try again shortly."
    default_code = "media_server_unavailable"


def paginated_response(
    *, queryset: QuerySet[Any], serializer_class: type[serializers.BaseSerializer], request: Request, view: APIView
) -> Response:
    """A list endpoint's answer: limit/offset pages, like the generic views give."""
    paginator = LimitOffsetPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    context = {"request": request}
    if page is None:  # pragma: no cover - PAGE_SIZE is always set
        return Response(serializer_class(queryset, many=True, context=context).data)
    return paginator.get_paginated_response(serializer_class(page, many=True, context=context).data)


_paginated: dict[type, type[serializers.Serializer]] = {}


def paginated(serializer_class: type[serializers.BaseSerializer]) -> type[serializers.Serializer]:
    """The schema of a `paginated_response` page of `serializer_class` items, for `extend_schema(responses=...)`.

    APIViews do not tell drf-spectacular that they paginate; without this a list is declared as a
    bare array while it answers {count, next, previous, results}, and a generated client is wrong.
    """
    if serializer_class not in _paginated:
        name = serializer_class.__name__.removesuffix("Serializer").removesuffix("Output")
        _paginated[serializer_class] = type(
            f"Paginated{name}List",
            (serializers.Serializer,),
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": serializer_class(many=True),
            },
        )
    return _paginated[serializer_class]


def pagination_parameters() -> list[Any]:
    from django.conf import settings
    from drf_spectacular.utils import OpenApiParameter

    from apps.core.pagination import MAX_PAGE_SIZE

    default = settings.REST_FRAMEWORK["PAGE_SIZE"]
    return [
        OpenApiParameter(
            "limit",
            int,
            description=f"How many items per page: {default} by default, at most {MAX_PAGE_SIZE} "
            f"(a larger limit gives {MAX_PAGE_SIZE}).",
        ),
        OpenApiParameter("offset", int, description="How many items to skip."),
    ]


def request_user(request: Request) -> User:
    """The signed-in user of an API request (views run behind IsAuthenticated)."""
    if not request.user.is_authenticated:  # pragma: no cover - the permission class answers first
        raise exceptions.NotAuthenticated()
    return cast("User", request.user)


# --- the OpenAPI schema ----------------------------------------------------------------------------

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "What went wrong, in words for the person using the app.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# DRF's field errors: a list of messages per field, a nested object for nested fields and list
# items ({"on_stage": {"0": ["..."]}}), `non_field_errors` for the body as a whole, and `detail`
# (a message, or a list of them) when the request could not be read or a service refused it.
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Field name → what is wrong with it; `detail` or `non_field_errors` for the request as a whole.",
    "minProperties": 1,
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/ValidationError"}]},
            },
            {"$ref": "#/components/schemas/ValidationError"},
        ]
    },
}
_HEADERS: dict[str, dict[str, Any]] = {
    "WWW-Authenticate": {
        "description": 'How to authenticate: `Bearer realm="api"`.',
        "required": True,
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again, when known.",
        "schema": {"type": "integer", "minimum": 0},
    },
}


@dataclass(frozen=True)
class _Error:
    name: str  # the response component's name
    description: str
    body: str = "Error"  # or "ValidationError"
    headers: tuple[str, ...] = ()


ERRORS: dict[int, _Error] = {
    400: _Error("BadRequest", "The request is not valid: see the messages per field.", "ValidationError"),
    401: _Error("Unauthenticated", "Not signed in, or the access token has expired.", headers=("WWW-Authenticate",)),
    403: _Error("Forbidden", "Not allowed: a cookie-authenticated write without its CSRF token, or not your role."),
    404: _Error("NotFound", "No such object, or it is not yours."),
    409: _Error("Conflict", "The request conflicts with the object's current state."),
    410: _Error("Gone", "This no longer works (revoked, expired or finished)."),
    413: _Error("ContentTooLarge", "The request body is larger than this operation accepts."),
    415: _Error("UnsupportedMediaType", "The body is not in a type this operation accepts."),
    429: _Error("Throttled", "Too many requests: slow down.", headers=("Retry-After",)),
    503: _Error(
        "ServiceUnavailable",
        "A service this needs (the database, or the media server) cannot be reached right now; nothing was saved: "
        "try again shortly.",
        headers=("Retry-After",),
    ),
}


@dataclass(frozen=True)
class ErrorResponse:
    """An error an operation answers, for `extend_schema(responses=...)`; see `errors`."""

    code: int
    description: str = ""  # empty: the shared component's own words
    body: str = ""  # empty: the shared component's own body


def errors(*codes: int, fields: bool = False, **described: str) -> dict[int, ErrorResponse]:
    """Errors only this operation answers, documented with the shared components.

    `errors(409, 410)`; with words of its own: `errors(409, e409="The offset is not where the upload stands.")`;
    `fields=True` when the body is field messages (`ValidationError`) rather than `{"detail": ...}`.
    """
    body = "ValidationError" if fields else ""
    found = {code: ErrorResponse(code, body=body) for code in codes}
    for key, description in described.items():
        code = int(key.removeprefix("e"))
        found[code] = ErrorResponse(code, description=description, body=body)
    return found


_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_PATH_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>\w+)>")


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, plus the errors every view of a kind answers and exact path parameters."""

    def _get_response_for_code(
        self, serializer: Any, status_code: str, media_types: Any = None, direction: Any = "response"
    ) -> dict[str, Any]:
        if isinstance(serializer, ErrorResponse):
            return self._error_response(serializer)
        return cast(dict[str, Any], super()._get_response_for_code(serializer, status_code, media_types, direction))

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = cast(dict[str, Any], super()._get_response_bodies(direction))
        if direction != "response":
            return responses
        for code in self._implied_errors():
            responses.setdefault(str(code), self._error_response(ErrorResponse(code)))
        return dict(sorted(responses.items()))

    def _implied_errors(self) -> list[int]:
        codes = []
        has_body = self.method in {"POST", "PUT", "PATCH"} and self._request_body_declared()
        if has_body or self.method not in _SAFE_METHODS:
            codes.append(400)
        if has_body:
            codes += [413, 415]  # over the body limit (apps.core.bodylimit), or not JSON
        if self._needs_user():
            codes.append(401)
            if self.method not in _SAFE_METHODS:
                codes.append(403)
        if "{" in self.path:
            codes.append(404)
        if self.view.get_throttles():
            codes.append(429)
        # Every operation reads the database (its user, its objects, its invite): while that cannot be
        # reached, exception_handler answers 503 with Retry-After.
        codes.append(503)
        return codes

    def _request_body_declared(self) -> bool:
        request = self.get_request_serializer()
        return request is not None and request != {}

    def _needs_user(self) -> bool:
        permissions = self.view.get_permissions()
        return bool(self.view.get_authenticators()) and not all(isinstance(p, AllowAny) for p in permissions)

    def _error_response(self, error: ErrorResponse) -> dict[str, Any]:
        shared = ERRORS[error.code]
        body = error.body or shared.body
        self._register(ResolvedComponent.SCHEMA, body, ERROR_SCHEMA if body == "Error" else VALIDATION_ERROR_SCHEMA)
        headers: dict[str, Any] = {
            name: self._register(ResolvedComponent.HEADER, name.replace("-", ""), _HEADERS[name])
            for name in shared.headers
        }
        # Headers this operation declares for the code too (an upload's 409 carries Upload-Offset).
        own_headers = self._get_response_headers_for_code(str(error.code))
        headers.update(own_headers)
        response: dict[str, Any] = {"description": error.description or shared.description}
        if headers:
            response["headers"] = headers
        if self.method != "HEAD":  # HEAD answers carry no body
            response["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}
        if error.description or error.body or own_headers or self.method == "HEAD":
            return response  # its own words, body or headers: written out here
        return self._register(ResolvedComponent.RESPONSE, shared.name, response)

    def _register(self, kind: str, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        component = ResolvedComponent(name=name, type=kind, schema=schema, object=name)
        self.registry.register_on_missing(component)
        return cast(dict[str, Any], component.ref)

    def _get_serializer_field_meta(self, field: Any, direction: Any) -> dict[str, Any]:
        meta = cast(dict[str, Any], super()._get_serializer_field_meta(field, direction))
        # DRF refuses "" for a CharField unless allow_blank: say so for what clients send (our input and output
        # serializers are separate, so a request component is never also a response one).
        if direction == "request" and isinstance(field, serializers.CharField) and not field.allow_blank:
            meta.setdefault("minLength", 1)
        return meta

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        """Path parameters as the URL conf matches them: `<int:pk>` is 0 or more, `<str:token>` has no slash."""
        parameters = cast(list[dict[str, Any]], super()._resolve_path_parameters(variables))
        converters = {
            ("id" if m["parameter"] == "pk" else m["parameter"]): m["converter"]
            for m in _PATH_PARAMETER.finditer(self.path_regex)
        }
        for parameter in parameters:
            converter = converters.get(parameter["name"])
            schema = parameter["schema"]
            if converter == "int":
                schema["minimum"] = 0
            elif converter in {"str", "slug"} and "enum" not in schema:
                schema["pattern"] = f"^{get_converters()[converter].regex}$"
        return parameters


class _Endpoints(EndpointEnumerator):
    """Every method a view answers, HEAD included where the view defines it (the upload resume point)."""

    def get_allowed_methods(self, callback: Any) -> list[str]:
        methods = cast(list[str], super().get_allowed_methods(callback))
        view = getattr(callback, "cls", None)
        if view is not None and "head" in vars(view):
            methods.append("HEAD")
        return methods


class Generator(SchemaGenerator):
    endpoint_inspector_cls = _Endpoints
