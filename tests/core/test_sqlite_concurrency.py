"""The embedded default (SQLite, as `make run` uses it) takes several writers at once.

`make run` has four processes that write: web, the default worker, the media worker and beat.
Two web processes create invites through the API while two other processes move guests on and
off stage through the services (what the workers and the studio do during a show), all on one
SQLite file: every request succeeds and every write lands, none fails with "database is locked".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.support.live_server import BASE_DIR, WebServer, free_port

INVITES_PER_WEB = 30
TOGGLES_PER_WRITER = 30

SEED = """
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from apps.accounts.models import User
from apps.streams import services
user = User.objects.create_user(username="maya", email="maya@example.com", password="sqlite writers 2026")
stream = services.stream_create(owner=user, title="Busy night")
guests = [services.guest_invite(stream=stream, by=user, display_name=f"Guest {n}")[0].pk for n in range(2)]
print(json.dumps({"stream": stream.pk, "guests": guests}))
"""

# One writer process: a guest on and off stage, each a read-then-write transaction.
TOGGLE = """
import django, sys
django.setup()
from apps.streams.models import Guest
from apps.studio import services as studio_services
guest_id, rounds = int(sys.argv[1]), int(sys.argv[2])
for _ in range(rounds):
    guest = Guest.objects.select_related("stream__owner").get(pk=guest_id)
    studio_services.guest_bring_on_stage(guest=guest, by=guest.stream.owner)
    studio_services.guest_send_backstage(guest=guest, by=guest.stream.owner)
print("ok")
"""


def _env(var_dir: Path) -> dict[str, str]:
    from django.conf import settings

    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "TEST_DATABASE_NAME"}}
    env.update(
        STREAMUS_ENV="development",
        STREAMUS_VAR_DIR=str(var_dir),  # the database is var/streamus.sqlite3, as in `make run`
        REDIS_URL=settings.REDIS_URL,
        DJANGO_SETTINGS_MODULE="streamus.settings",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def _python(code: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _request(url: str, *, data: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "X-Auth-Mode": "bearer"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {"body": error.read().decode(errors="replace")[:500]}


@pytest.mark.timeout(240)
def test_four_writers_share_the_embedded_database(tmp_path: Path) -> None:
    env = _env(tmp_path)
    seed = _python(SEED, env=env)
    out, err = seed.communicate(timeout=120)
    assert seed.returncode == 0, err
    ids = json.loads(out.strip().splitlines()[-1])

    webs = []
    for _ in range(2):
        port = free_port()
        web_env = {**env, "SITE_URL": f"http://127.0.0.1:{port}", "ALLOWED_HOSTS": "127.0.0.1"}
        web = WebServer(port=port, env=web_env, log_path=tmp_path / f"daphne-{port}.log")
        webs.append(web)
        web.start()
    try:
        status, tokens = _request(
            webs[0].url + "/api/v1/auth/login", data={"email": "maya@example.com", "password": "sqlite writers 2026"}
        )
        assert status == 200, tokens
        answers: list[tuple[int, dict]] = []

        def invite(web: WebServer) -> None:
            for n in range(INVITES_PER_WEB):
                answers.append(
                    _request(
                        f"{web.url}/api/v1/streams/{ids['stream']}/guests/",
                        data={"display_name": f"Invite {web.port}-{n}"},
                        token=tokens["access"],
                    )
                )

        threads = [threading.Thread(target=invite, args=(web,)) for web in webs]
        writers = [_python(TOGGLE, str(guest_id), str(TOGGLES_PER_WRITER), env=env) for guest_id in ids["guests"]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
        results = [writer.communicate(timeout=180) for writer in writers]
    finally:
        for web in webs:
            web.stop()

    failed = [answer for answer in answers if answer[0] != 201]
    assert not failed, f"{len(failed)} of {len(answers)} invites failed, first: {failed[0]}"
    assert len(answers) == 2 * INVITES_PER_WEB
    for writer, (out, err) in zip(writers, results, strict=True):
        assert writer.returncode == 0 and out.strip() == "ok", err[-2000:]
    for web in webs:
        assert "database is locked" not in web.log()

    count = _python(
        "import django; django.setup(); from apps.streams.models import Guest; print(Guest.objects.count())", env=env
    )
    out, err = count.communicate(timeout=60)
    assert int(out.strip()) == 2 + 2 * INVITES_PER_WEB, err
