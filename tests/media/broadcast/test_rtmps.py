"""RTMPS through a TLS terminator (nginx stream module), with certificate verification."""

from __future__ import annotations

import pytest

from media.broadcast.pusher import DestinationSpec
from tests.support.rtmp import ffprobe, video_stream, wait_for

pytestmark = pytest.mark.media


def test_rtmps_push_verifies_the_certificate(make_session, rtmps_server):
    session = make_session(record=False)
    session.start(
        [
            DestinationSpec(1, rtmps_server.rtmps_url, "tls-ok", ca_file=rtmps_server.ca_file),
            # Same server, but the test CA is not trusted: the push must be refused, not silently downgraded.
            DestinationSpec(2, rtmps_server.rtmps_url, "tls-untrusted"),
        ]
    )
    path = rtmps_server.wait_for_publish("tls-ok")
    wait_for(lambda: session.pushers[2].stats.state == "error", 10)
    session.stop()
    assert video_stream(ffprobe(path))["codec_name"] == "h264"
    assert "certificate" in session.pushers[2].stats.last_error
    assert session.pushers[2].stats.frames_sent == 0
    assert rtmps_server.recordings("tls-untrusted") == []


def test_rtmps_checks_the_host_name(make_session, rtmps_server):
    # The certificate is for 127.0.0.1/localhost; reaching it by another name must fail verification.
    # The injected host check "resolves" the name to the server (and the pusher connects to the checked
    # address), so only the certificate's name can refuse it.
    url = rtmps_server.rtmps_url.replace("127.0.0.1", "ingest.streamus.test")
    session = make_session(record=False, host_check=lambda host, port: ["127.0.0.1"])
    session.start([DestinationSpec(1, url, "wrong-name", ca_file=rtmps_server.ca_file)])
    wait_for(lambda: session.pushers[1].stats.state == "error", 10)
    session.stop()
    assert "certificate" in session.pushers[1].stats.last_error
    assert "ingest.streamus.test" in session.pushers[1].stats.last_error
    assert rtmps_server.recordings("wrong-name") == []
