"""The web process's metrics and the request id's first hop: who may read /metrics, what it counts, and the
go-live request's id in the headers of the task that starts the show."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from django.urls import reverse
from prometheus_client import REGISTRY

from apps.core import realtime
from tests.factories import StreamFactory

TOKEN = "t" * 40


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_answer_loopback_outside_production_and_count_by_view(client, settings):
    before = sample("streamus_http_requests_total", view="healthz", method="GET", status="200")
    assert client.get("/healthz").status_code == 200
    response = client.get("/metrics")  # the test client's address is 127.0.0.1
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")  # the exposition format
    body = response.content.decode()
    assert 'streamus_http_requests_total{method="GET",status="200",view="healthz"}' in body
    assert sample("streamus_http_requests_total", view="healthz", method="GET", status="200") == before + 1
    assert sample("streamus_http_request_duration_seconds_count", view="healthz", method="GET") >= 1


def test_paths_never_become_labels(client):
    # Letters, not digits: the exposition's timestamps are full of digits (12345 once appeared in one).
    assert client.get("/no/such/page/xyzzy-plugh/").status_code == 404
    assert sample("streamus_http_requests_total", view="<unresolved>", method="GET", status="404") >= 1
    text = REGISTRY_text()
    assert "xyzzy" not in text and "/no/such" not in text


def REGISTRY_text() -> str:
    from prometheus_client import generate_latest

    return generate_latest(REGISTRY).decode()


@pytest.mark.parametrize(
    ("environment", "address", "authorization", "status"),
    [
        ("test", "203.0.113.9", "", 404),  # another host, no token
        ("test", "203.0.113.9", f"Bearer {TOKEN}", 200),
        ("test", "203.0.113.9", "Bearer wrong-token-of-some-length-xxxxxxxx", 404),
        ("production", "127.0.0.1", "", 404),  # production: the token or nothing, even on loopback
        ("production", "127.0.0.1", f"Bearer {TOKEN}", 200),
        ("production", "203.0.113.9", f"Bearer {TOKEN}", 200),
    ],
)
def test_who_may_read_metrics(client, settings, environment, address, authorization, status):
    settings.ENVIRONMENT = environment
    settings.METRICS_TOKEN = TOKEN
    settings.SECURE_SSL_REDIRECT = False
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    assert client.get("/metrics", REMOTE_ADDR=address, **headers).status_code == status


def test_without_a_token_only_loopback_reads_metrics(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.7").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.7", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200


def test_channel_layer_failures_are_counted(settings):
    # A Redis that is not there (a closed port): the event is lost, the write is not, and it shows.
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]}}
    }
    before = sample("streamus_channel_layer_send_failures_total", event="chat.message")
    assert realtime.publish("stream-1", "chat.message", message={}) is False
    assert sample("streamus_channel_layer_send_failures_total", event="chat.message") == before + 1


@pytest.mark.django_db(transaction=True)
def test_the_go_live_request_id_travels_in_the_show_task_headers(client, user, settings):
    settings.BROADCAST_SOURCE = "test_scene"  # no room to open: this test stops at the queue
    settings.CELERY_TASK_ALWAYS_EAGER = False
    r = redis.Redis.from_url(settings.REDIS_URL)
    r.delete("media")
    stream = StreamFactory(owner=user)
    client.force_login(user)
    request_id = "go-live-0123456789abcdef"
    response = client.post(reverse("api-stream-go-live", kwargs={"pk": stream.pk}), HTTP_X_REQUEST_ID=request_id)
    assert response.status_code == 200
    assert response["X-Request-ID"] == request_id
    try:
        (raw,) = r.lrange("media", 0, -1)
        message = json.loads(raw)
        assert message["headers"]["task"] == "media.run_show"
        assert json.loads(base64.b64decode(message["body"]))[0] == [stream.pk]
        assert message["headers"]["request_id"] == request_id
    finally:
        r.delete("media")
        r.close()
