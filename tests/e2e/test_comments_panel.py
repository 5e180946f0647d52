"""The comments panel in a real browser: live rows over the websocket, moderation clicks, who gets the panel."""

from __future__ import annotations

import pytest

from apps.engagement import realtime, services
from apps.engagement.models import Comment
from apps.streams.models import Guest
from tests.support.browser import csp_violations, join_as_guest, open_studio, wait_js
from tests.support.live_server import wait_until

from .conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROW_STATE = """(id) => {
    const row = document.getElementById(`comment-${id}`);
    return row ? {status: row.dataset.status, onScreen: row.dataset.onScreen, text: row.textContent} : null;
}"""
PANEL_READY = """(id) => {
    const panel = document.getElementById(`comments-panel-${id}`);
    return panel && panel.dataset.live === 'open' && panel.dataset.synced === 'true';
}"""
# Open the comments socket from this page and report how the server answers (close code, or "open").
TRY_COMMENTS_SOCKET = """(path) => new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}${path}`);
    ws.onmessage = () => {};
    ws.onclose = (event) => resolve(event.code);
    setTimeout(() => resolve(ws.readyState === WebSocket.OPEN ? 'open' : 'pending'), 5000);
})"""


def ingest(stream, message_id: str, text: str, platform: str = "youtube", author_id: str = "viewer-1") -> Comment:
    comment = services.comment_ingest(
        stream=stream, platform=platform, message_id=message_id, author_name="Ada", author_id=author_id, text=text
    )
    assert comment is not None
    return comment


def test_comments_reach_the_host_live_and_go_on_screen(web, browser_for, user, stream):
    host, violations = open_studio(browser_for("red"), web, user, stream)
    wait_js(host, PANEL_READY, stream.pk, what="comments panel live")
    host.evaluate("() => { window.notReloaded = true; }")

    # A comment stored by the ingest service appears without a reload, sanitized, with its badges.
    hello = ingest(stream, "yt-1", "<b>Hello</b> from Lisbon")
    row = wait_js(host, ROW_STATE, hello.pk, what="the comment row")
    assert row["status"] == "approved" and "Hello from Lisbon" in row["text"] and "<b>" not in row["text"]
    held = ingest(stream, "yt-2", "buy at example.com", author_id="spammer")
    assert wait_js(host, ROW_STATE, held.pk, what="the held comment")["status"] == "pending"
    assert host.locator(f"#comments-pending-{stream.pk}").inner_text() == "1 waiting for review"
    # Newest first.
    ids = host.eval_on_selector_all(f"#comment-list-{stream.pk} > li", "rows => rows.map(r => r.dataset.commentId)")
    assert ids[:2] == [str(held.pk), str(hello.pk)]

    # Show on screen: the card the compositor reads is written, and the row says so.
    host.click(f"#comment-{hello.pk} [data-comment-action=show]")
    card = wait_until(lambda: realtime.read_card(stream.pk), timeout=10, what="the comment card in Redis")
    assert card["comment_id"] == hello.pk and card["text"] == "Hello from Lisbon" and card["author"] == "Ada"
    wait_js(host, f"() => ({ROW_STATE})({hello.pk}).onScreen === 'true'", what="on-screen badge")
    assert host.locator(f"#comment-{hello.pk} .badge-live").text_content() == "On screen"

    # Approve the held one; then take the card off screen.
    host.click(f"#comment-{held.pk} [data-comment-action=approve]")
    wait_js(host, f"() => ({ROW_STATE})({held.pk}).status === 'approved'", what="approved row")
    assert host.locator(f"#comments-pending-{stream.pk}").inner_text() == "0 waiting for review"
    host.click(f"#comment-{hello.pk} [data-comment-action=off-screen]")
    wait_until(lambda: realtime.read_card(stream.pk) is None, timeout=10, what="the card removed from Redis")
    wait_js(host, f"() => ({ROW_STATE})({hello.pk}).onScreen === 'false'", what="on-screen badge gone")

    # Filter by platform: only Twitch rows, and a new Twitch comment still arrives live.
    host.select_option(f"#comments-platform-{stream.pk}", "twitch")
    wait_js(host, PANEL_READY, stream.pk, what="filtered reload")
    assert host.locator(f"#comment-{hello.pk}").count() == 0
    twitch = ingest(stream, "tw-1", "hi from twitch", platform="twitch")
    ingest(stream, "yt-3", "another youtube one")
    wait_js(host, ROW_STATE, twitch.pk, what="the twitch comment")
    assert host.locator(f"#comment-list-{stream.pk} > li").count() == 1

    # Hide, as a moderator would from another screen: the host's row follows.
    services.comment_hide(comment=twitch)
    wait_js(host, f"() => ({ROW_STATE})({twitch.pk}).status === 'hidden'", what="hidden row")
    # Holding for review re-renders the panel (htmx); the feed is filled again and stays live.
    host.evaluate(f"() => {{ document.getElementById('comments-panel-{stream.pk}').dataset.before = 'yes'; }}")
    host.select_option(f"#moderation-mode-{stream.pk}", "hold")
    host.click(f"#comments-panel-{stream.pk} form[hx-post] button[type=submit]")
    wait_until(
        lambda: services.engagement_settings_for(stream).moderation_mode == "hold", timeout=10, what="mode saved"
    )
    wait_js(
        host,
        f"() => !document.getElementById('comments-panel-{stream.pk}').dataset.before"
        f" && document.getElementById('comment-{twitch.pk}')?.dataset.commentId === '{twitch.pk}'",
        what="the new panel's feed filled by the script",
    )
    wait_js(host, PANEL_READY, stream.pk, what="panel live after the mode change")
    services.forget_cached(stream_id=stream.pk)  # this test process cached the old mode for a few seconds
    held_now = ingest(stream, "yt-4", "please hold me")
    assert wait_js(host, ROW_STATE, held_now.pk, what="held comment after the mode change")["status"] == "pending"
    assert host.evaluate("() => window.notReloaded === true")
    assert Comment.objects.get(pk=hello.pk).shown_on_screen_at is None
    assert violations == []


def test_a_moderator_gets_the_panel_and_a_guest_gets_neither_panel_nor_socket(web, browser_for, stream, make_invite):
    _mod, mod_token = make_invite(stream, role=Guest.Role.MODERATOR)
    _guest, guest_token = make_invite(stream, role=Guest.Role.GUEST)
    browser = browser_for("green")

    guest_page = browser.new_context(viewport=PHONE).new_page()
    guest_violations = csp_violations(guest_page)
    join_as_guest(guest_page, web, guest_token, "Grace")
    assert guest_page.locator("[data-comments-panel]").count() == 0
    assert guest_page.evaluate(TRY_COMMENTS_SOCKET, f"/ws/streams/{stream.pk}/comments/") == 4403

    moderator = browser.new_context(viewport=DESKTOP).new_page()
    mod_violations = csp_violations(moderator)
    join_as_guest(moderator, web, mod_token, "Moe")
    wait_js(moderator, PANEL_READY, stream.pk, what="moderator's comments panel live")
    comment = ingest(stream, "yt-mod", "question for the moderators")
    wait_js(moderator, ROW_STATE, comment.pk, what="comment on the moderator's panel")
    moderator.click(f"#comment-{comment.pk} [data-comment-action=pin]")
    wait_until(lambda: Comment.objects.get(pk=comment.pk).pinned, timeout=10, what="pinned by the moderator")
    assert guest_page.locator(f"#comment-{comment.pk}").count() == 0
    assert guest_violations == [] and mod_violations == []
