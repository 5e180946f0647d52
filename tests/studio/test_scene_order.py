"""Scenes leave the server in the order they were read, so no page and no compositor goes back to an older one.

A scene is published by whichever thread or process made a change (the host's socket, a webhook, a Celery
task), and read when that change commits; a publish that read the scene just before the host's last edit
could reach a studio after the edit's own publish and move the host's tile back (seen in CI as a tile the
editor showed where the server no longer had it). Every snapshot is now read inside the stream row's lock
and stamped with a version there (apps/studio/scene.py `scene_snapshot`); the studio pages keep the newest
(static/src/studio/scene_order.js, run here by node) and the compositor already ignores older versions.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction

from apps.streams.models import Stream
from apps.studio import scene
from tests.support.js import bundle_for_node, run_node
from tests.support.rtmp import wait_for

from .conftest import communicator, receive_until

pytestmark = [pytest.mark.django_db(transaction=True)]


def waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


def test_a_scene_read_during_an_edit_waits_for_it_and_is_newer(stream):
    with scene.scene_snapshot(stream.pk) as (_, before):
        pass
    editing, done = threading.Event(), threading.Event()

    def edit() -> None:
        try:
            with transaction.atomic():
                row = Stream.objects.select_for_update().get(pk=stream.pk)
                row.scene = {**row.scene, "layout": "custom", "positions": {"x": [0.42, 0.1, 0.3, 0.3]}}
                row.save(update_fields=["scene"])
                editing.set()
                done.wait(30)
        finally:
            connection.close()

    read: dict[str, object] = {}
    reader_pid: list[int] = []

    def snapshot() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                reader_pid.append(cursor.fetchone()[0])
            with scene.scene_snapshot(stream.pk) as (row, version):
                read["positions"] = scene.scene_state(row)["scene"]["positions"]
                read["version"] = version
        finally:
            connection.close()

    editor = threading.Thread(target=edit)
    editor.start()
    assert editing.wait(30)
    reader = threading.Thread(target=snapshot)
    reader.start()
    try:
        # The read is held by the edit's row lock (Postgres says so), not served the scene from before it.
        wait_for(lambda: reader_pid and waiting_on_a_lock(reader_pid[0]), timeout=30, message="the read never waited")
        assert read == {}
    finally:
        done.set()
        editor.join(30)
        reader.join(30)
    assert read["positions"] == {"x": [0.42, 0.1, 0.3, 0.3]}
    assert read["version"] > before


@pytest.mark.asyncio
async def test_state_full_and_scene_changed_carry_the_version_the_compositor_gets(stream, host_cookie, channel_layer):
    comm = communicator(stream.pk, host_cookie)
    await comm.connect()
    state = await receive_until(comm, "state.full")
    assert isinstance(state["scene_version"], int)
    versions = [state["scene_version"]]
    for layout in ("solo", "side_by_side", "grid"):
        await comm.send_json_to({"type": "scene.set", "layout": layout})
        changed = await receive_until(comm, "scene.changed")
        assert changed["scene"]["layout"] == layout
        versions.append(changed["scene_version"])
        # The compositor's copy in Redis is the same scene under the same version.
        client = redis.Redis.from_url(settings.REDIS_URL)
        stored = json.loads(client.get(scene.redis_key(stream.pk)))
        client.close()
        assert stored["version"] == changed["scene_version"] and stored["scene"]["layout"] == layout
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    # A publish that read the scene before the last one reaches Redis after it: the compositor's copy stays.
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub()
    pubsub.subscribe(scene.redis_key(stream.pk))
    late = {**stored, "scene": {**stored["scene"], "layout": "solo"}}
    await sync_to_async(scene._deliver)(stream.pk, late, versions[1])
    kept = json.loads(client.get(scene.redis_key(stream.pk)))
    assert kept["version"] == versions[-1] and kept["scene"]["layout"] == "grid"
    # Nor announced to the compositor: the first announcement after it is the next newer scene's.
    newer = versions[-1] + 1
    await sync_to_async(scene._deliver)(stream.pk, {**stored, "scene": {**stored["scene"], "layout": "pip"}}, newer)
    message = pubsub.get_message(timeout=5)
    while message is not None and message["type"] != "message":
        message = pubsub.get_message(timeout=5)
    assert message is not None and int(message["data"]) == newer
    assert json.loads(client.get(scene.redis_key(stream.pk)))["scene"]["layout"] == "pip"
    pubsub.close()
    client.close()
    # A state asked for afterwards is newer than every scene before it.
    await comm.send_json_to({"type": "state.request"})
    assert (await receive_until(comm, "state.full"))["scene_version"] > versions[-1]
    await comm.disconnect()


@pytest.fixture
def scene_order_script(tmp_path: Path) -> Path:
    bundle_for_node("static/src/studio/scene_order.js", tmp_path / "scene_order.bundle.mjs")
    script = tmp_path / "run.mjs"
    script.write_text(
        """import { newestScene } from "./scene_order.bundle.mjs";
const page = {};
const kept = [];
for (const msg of [
  { name: "state.full", scene_version: 100 },
  { name: "edit 1", scene_version: 200 },
  { name: "edit 3", scene_version: 400 },
  { name: "late edit 2", scene_version: 300 },
  { name: "late state.full", scene_version: 150 },
  { name: "unversioned" },
  { name: "same again", scene_version: 400 },
  { name: "edit 4", scene_version: 500 },
]) {
  if (newestScene(page, msg)) kept.push(msg.name);
}
console.log(JSON.stringify({ kept, newest: page.sceneVersion }));
"""
    )
    return script


def test_the_studio_pages_keep_the_newest_scene(scene_order_script: Path) -> None:
    seen = run_node(scene_order_script)
    assert seen["kept"] == ["state.full", "edit 1", "edit 3", "unversioned", "same again", "edit 4"]
    assert seen["newest"] == 500
