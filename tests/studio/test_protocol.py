"""The studio websocket's protocol is written down once per language and both sides keep to it.

apps/core/events.py and static/src/studio/events.js name the same events and messages; every event
a page can receive has a handler in that page's script (the host's studio, the guest's page); every
message a page sends is one its role may send and that the consumer routes.
"""

from __future__ import annotations

import re
from pathlib import Path

from apps.core import events
from apps.studio.consumers import StudioConsumer

ROOT = Path(__file__).resolve().parents[2]
EVENTS_JS = ROOT / "static" / "src" / "studio" / "events.js"
PAGES = {
    # page script → the role whose socket it is
    "studio.js": events.HOST,
    "guest.js": events.GUEST,
}
# Sent only in reply to a ping (the browser pages send none; the mobile app does).
REPLY_ONLY = {events.PONG}
# Handled before routing (no ROUTES entry): the socket answers them itself.
ANSWERED_BY_THE_SOCKET = {events.AUTH, events.PING, events.STATE_REQUEST}


def js_constants(block: str) -> dict[str, str]:
    text = EVENTS_JS.read_text()
    body = re.search(rf"export const {block} = Object\.freeze\(\{{(.*?)\}}\);", text, re.S)
    assert body, f"{block} not found in {EVENTS_JS}"
    return dict(re.findall(r'(\w+): "([^"]+)"', body.group(1)))


def py_constants(names: frozenset[str] | set[str]) -> dict[str, str]:
    return {key: value for key, value in vars(events).items() if isinstance(value, str) and value in names}


def test_python_and_javascript_name_the_same_events_and_messages() -> None:
    assert js_constants("EVENTS") == py_constants(events.SERVER_EVENTS)
    assert js_constants("MESSAGES") == py_constants(events.CLIENT_MESSAGES)
    assert js_constants("COMMENT_EVENTS") == py_constants(events.COMMENT_EVENTS)


def test_every_event_a_page_receives_has_a_handler() -> None:
    names = {value: key for key, value in js_constants("EVENTS").items()}
    for page, role in PAGES.items():
        script = (ROOT / "static" / "src" / page).read_text()
        handled = set(re.findall(r"case EVENTS\.(\w+):", script))
        receives = (events.RECEIVES[role] | events.DIRECT) - REPLY_ONLY
        if role == events.HOST:
            receives -= {events.SESSION_ENDED}  # the host's seat cannot be ended by anyone else
        missing = sorted(value for value in receives if names[value] not in handled)
        assert not missing, f"{page} has no handler for {missing}"
        # and no string literals that bypass the shared names
        assert not re.search(r'case "[a-z_]+\.[a-z_]+":', script), page


def test_every_message_a_page_sends_is_allowed_for_its_role_and_routed() -> None:
    messages = js_constants("MESSAGES")
    routed = set(StudioConsumer.ROUTES) | ANSWERED_BY_THE_SOCKET
    for role_messages in events.SENDS.values():
        assert role_messages <= routed
    for page, role in PAGES.items():
        script = (ROOT / "static" / "src" / page).read_text()
        sent = {messages[name] for name in re.findall(r"type: MESSAGES\.(\w+)", script)}
        assert sent, page
        assert sent <= events.SENDS[role], f"{page} sends what a {role} may not: {sent - events.SENDS[role]}"
        assert not re.search(r'type: "[a-z_]+\.[a-z_]+"', script), f"{page} spells a message out"


def test_the_mobile_app_names_only_events_and_messages_that_exist() -> None:
    app = ROOT / "mobile" / "src" / "studio"
    named = set()
    for source in [*app.glob("*.ts"), *app.glob("*.tsx")]:
        named |= set(re.findall(r"'([a-z_]+\.[a-z_]+)'", source.read_text()))
    assert {events.STATE_FULL, events.SCENE_CHANGED, events.SESSION_ENDED} <= named
    unknown = named - (events.SERVER_EVENTS | events.CLIENT_MESSAGES | events.COMMENT_EVENTS)
    assert not unknown, f"mobile/src/studio names what the server never sends or accepts: {sorted(unknown)}"
