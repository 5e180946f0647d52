"""Issue 15 in real browsers: the host arranges people by hand, features one, and a brand kit lands live.

Host (red camera) and guest (blue camera) are two Chromium processes; the web process is Daphne
running `streamus.asgi:application`; the show goes live to an RTMP server (nginx) through the
broadcast engine with the LiveKit compositor as its program, on a thread as a media worker runs it.
What went out is decoded: the guest's tile dragged over the host's moves on air, and the logo of a
kit applied while the studio is open appears in its corner, in both previews and on air.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from apps.branding import services as branding
from apps.streams import services as streams
from apps.streams.models import Guest, Stream
from tests.support.browser import join_as_guest, login, wait_js, wait_preview
from tests.support.media_worker import MediaWorker, media_settings  # noqa: F401 - fixture
from tests.support.rtmp import (
    rgb_samples,
    rtmp_servers,  # noqa: F401 - fixture
    wait_for,
)

from .conftest import DESKTOP

pytestmark = [
    pytest.mark.browser,
    pytest.mark.livekit,
    pytest.mark.media,
    pytest.mark.django_db(transaction=True),
]

W, H = 64, 36  # decoded frames are scaled to this: colours and places only

PIXEL = """([fx, fy]) => {
    const c = document.getElementById('program');
    const d = c.getContext('2d').getImageData(Math.floor(c.width * fx), Math.floor(c.height * fy), 1, 1).data;
    return [d[0], d[1], d[2]];
}"""


def colour(rgb) -> str:
    r, g, b = rgb
    if r > 170 and g < 90 and b < 90:
        return "red"
    if b > 170 and r < 90 and g < 90:
        return "blue"
    if g > 170 and r < 90 and b < 90:
        return "green"
    if max(r, g, b) < 60:
        return "dark"
    return "other"


def at(frame: bytes, fx: float, fy: float) -> str:
    x, y = min(W - 1, int(W * fx)), min(H - 1, int(H * fy))
    i = (y * W + x) * 3
    return colour(frame[i : i + 3])


def green_logo() -> io.BytesIO:
    image = Image.new("RGBA", (200, 100), (0, 255, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def tiles(page) -> dict[str, list[float]]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.st-edit-tile')].map((t) => {
            const r = t.getBoundingClientRect();
            return [t.dataset.source, [r.x, r.y, r.width, r.height]];
        }))"""
    )


def positions(stream: Stream) -> dict[str, list[float]]:
    stream.refresh_from_db()
    return stream.scene.get("positions") or {}


def test_arrange_by_hand_feature_and_brand_live(
    livekit,
    media_settings,  # noqa: F811
    web_factory,
    browser_for,
    rtmp_servers,  # noqa: F811
    user,
):
    web = web_factory(extra_env={"ALLOW_PRIVATE_DESTINATIONS": "1"})
    (ingest,) = rtmp_servers(1)
    stream = streams.stream_create(
        owner=user, title="By hand", resolution="480p", fps=30, video_bitrate_kbps=800, audio_bitrate_kbps=64
    )
    from apps.destinations.services import destination_create

    destination_create(stream=stream, by=user, platform="custom", rtmp_url=ingest.url, stream_key="k0")
    guest_row, token = streams.guest_invite(stream=stream, by=user, display_name="", role="guest")

    # A touch screen as well as a mouse: the host's context has both.
    host_ctx = browser_for("red").new_context(viewport=DESKTOP, has_touch=True)
    login(host_ctx, web.url, user)
    host = host_ctx.new_page()
    host.goto(f"{web.url}/studio/{stream.pk}/")
    wait_js(host, "() => document.getElementById('conn-state').dataset.state === 'open'", what="studio socket")
    wait_preview(host, 0.5, 0.5, "red", "host camera")

    guest = browser_for("blue").new_page(viewport={"width": 1280, "height": 800})
    join_as_guest(guest, web, token, "Blue guest")
    guest.click("#join-backstage")
    identity = Guest.objects.get(pk=guest_row.pk).identity
    host.click(f"#backstage [data-participant='{identity}'][data-online='true'] [data-action='stage']")
    host.wait_for_selector(f"#on-stage [data-participant='{identity}']")

    # --- choose who is featured: Solo on the guest, from the people list ----------------------------
    host.click(f"#on-stage [data-participant='{identity}'] [data-action='solo']")
    host.wait_for_selector("[data-layout='solo'][aria-checked='true']")
    wait_preview(host, 0.2, 0.5, "blue", "solo on the guest (host preview)")
    wait_preview(host, 0.8, 0.5, "blue", "solo on the guest, whole picture")
    wait_preview(guest, 0.5, 0.5, "blue", "solo on the guest (guest preview)")
    stream.refresh_from_db()
    assert stream.scene["featured"] == identity
    # ... and on the host, from the picker beside the layouts.
    host.select_option("#featured-select", f"host-{user.pk}")
    wait_preview(host, 0.5, 0.5, "red", "solo on the host")

    # --- picture in picture: the guest big, the host's window top left ----------------------------------
    host.click("[data-layout='pip']")
    host.wait_for_selector("#pip-corners:not([hidden])")
    host.select_option("#featured-select", identity)
    host.click("[data-corner='top_left']")
    host.wait_for_selector("[data-corner='top_left'][aria-checked='true']")
    wait_preview(host, 0.12, 0.15, "red", "the host's window in the top left corner")
    wait_preview(host, 0.6, 0.6, "blue", "the guest big")
    stream.refresh_from_db()
    assert stream.scene["pip_corner"] == "top_left" and stream.scene["featured"] == identity

    # --- customise this layout: side by side becomes a custom arrangement --------------------------------
    host.click("[data-layout='side_by_side']")
    # The host on the left half tells side by side from picture in picture (where the guest fills the frame).
    wait_preview(host, 0.25, 0.5, "red", "side by side: the host on the left")
    wait_preview(host, 0.75, 0.5, "blue", "side by side: the guest on the right")
    host.click("#customise-layout")
    host.wait_for_selector("[data-layout='custom'][aria-checked='true']")
    host.wait_for_selector(f".st-edit-tile[data-source='{identity}']")
    before = positions(stream)
    assert set(before) == {f"host-{user.pk}", identity}
    host_box, guest_box = before[f"host-{user.pk}"], before[identity]
    assert guest_box[0] > host_box[0] + 0.3  # the guest on the right

    # Keyboard: focus the guest's tile, nudge it right three times (1 % each; the canvas's edge stops it), then
    # left three times: 3 % left of where the right presses took it, however late the server's echoes come.
    host.focus(f".st-edit-tile[data-source='{identity}']")
    for _ in range(3):
        host.keyboard.press("ArrowRight")
    moved = min(1 - guest_box[2], guest_box[0] + 0.03)
    wait_for(lambda: abs(positions(stream)[identity][0] - moved) < 0.002, timeout=10, message="keyboard nudge saved")
    host.keyboard.press("ArrowLeft")
    host.keyboard.press("ArrowLeft")
    host.keyboard.press("ArrowLeft")
    # Where the host's editor shows the tile is where it is saved, about 3 % left. (Not exactly: now and then a
    # press lands a step short or a pixel off while the server's echoes come back, seen here 2.2-3.2 %.)
    shown = f"() => parseFloat(document.querySelector(\".st-edit-tile[data-source='{identity}']\").style.left) / 100"

    seen: list[tuple[float, float]] = []

    def nudged_back() -> bool:
        saved = positions(stream)[identity][0]
        seen.append((saved, host.evaluate(shown)))
        return 0.015 <= moved - saved <= 0.045 and abs(seen[-1][1] - saved) < 0.003

    try:
        wait_for(nudged_back, timeout=10)
    except AssertionError:
        raise AssertionError(
            f"nudged back from {moved}: (saved, shown) went {sorted(set(seen), key=seen.index)}"
        ) from None

    # Touch: a finger drags the host's tile down a little (Chromium's real touch input, through CDP).
    cdp = host_ctx.new_cdp_session(host)
    hx, hy, hw, hh = tiles(host)[f"host-{user.pk}"]
    start = (hx + hw / 2, hy + hh / 2)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]})
    for step in range(1, 6):
        point = {"x": start[0], "y": start[1] + step * 10}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    wait_for(
        lambda: positions(stream)[f"host-{user.pk}"][1] > host_box[1] + 0.02,
        timeout=10,
        message="the finger moved the host's tile down",
    )
    # And back up with the mouse, level with the guest's top edge again.
    hx, hy, hw, hh = tiles(host)[f"host-{user.pk}"]
    gy_px = tiles(host)[identity][1]
    host.mouse.move(hx + hw / 2, hy + hh / 2)
    host.mouse.down()
    host.mouse.move(hx + hw / 2, hy + hh / 2 - (hy - gy_px) / 2, steps=3)
    host.mouse.move(hx + hw / 2, hy + hh / 2 - (hy - gy_px), steps=3)
    host.mouse.up()
    wait_for(
        lambda: abs(positions(stream)[f"host-{user.pk}"][1] - guest_box[1]) < 0.001,
        timeout=10,
        message=f"back level with the guest: {positions(stream)}",
    )

    # Resize from a corner: proportions are kept by default.
    gx, gy, gw, gh = tiles(host)[identity]
    host.mouse.move(gx + gw - 1, gy + gh - 1)  # the south-east handle straddles the corner
    host.mouse.down()
    host.mouse.move(gx + gw * 0.7, gy + gh * 0.9, steps=4)
    host.mouse.up()
    wait_for(lambda: positions(stream)[identity][2] < guest_box[2] * 0.85, timeout=10, message="resized smaller")
    resized = positions(stream)[identity]
    aspect_before = guest_box[2] / guest_box[3]
    assert abs(resized[2] / resized[3] - aspect_before) < 0.02 * aspect_before, (guest_box, resized)

    # --- live: the guest's tile dragged over the host's, on air ---------------------------------------------
    host.click("#go-live")
    host.click("#confirm-ok")
    host.wait_for_selector("#stream-status.badge-live")
    wait_js(
        host, "() => document.getElementById('sr-announcer').textContent.includes('live')", what="going live announced"
    )
    worker = MediaWorker(stream.pk)
    worker.start()
    ingest.wait_for_publish("k0", timeout=60, min_bytes=60_000)
    recording = ingest.recordings("k0")[-1]

    def grown(by: int = 150_000):
        size = recording.stat().st_size
        wait_for(lambda: recording.stat().st_size > size + by, timeout=60, message="more program")

    grown()
    gx, gy, gw, gh = tiles(host)[identity]
    hx, hy, hw, hh = tiles(host)[f"host-{user.pk}"]
    host.mouse.move(gx + gw / 2, gy + gh / 2)
    host.mouse.down()
    host.mouse.move(gx + gw / 2 - (gx - hx) / 2, gy + gh / 2, steps=4)
    host.mouse.move(gx + gw / 2 - (gx - hx) + 4, gy + gh / 2, steps=4)  # 4 px short: the snap does the rest
    host.mouse.up()
    wait_for(
        lambda: abs(positions(stream)[identity][0] - positions(stream)[f"host-{user.pk}"][0]) < 0.001,
        timeout=10,
        message="the guest's left edge snapped to the host's",
    )
    wait_preview(host, 0.12, 0.5, "blue", "guest over the host's left half, preview")
    wait_preview(guest, 0.12, 0.5, "blue", "guest over the host's left half, guest's preview")
    grown()

    # --- a brand kit applied with the studio open: both previews and the program show its logo -----------------
    kit = branding.brand_kit_create(owner=user, name="Green")
    branding.brand_asset_upload(kit=kit, by=user, kind="logo", upload=green_logo(), filename="logo.png")
    logo = kit.assets.get()
    branding.brand_asset_update(asset=logo, by=user, x=0.8, y=0.05, scale=0.15, opacity=1.0)
    branding.brand_kit_apply(kit=kit, stream=Stream.objects.get(pk=stream.pk), by=user)
    for page, who in ((host, "host"), (guest, "guest")):
        wait_js(
            page,
            f"() => {{ const p = ({PIXEL})([0.86, 0.1]); return p[1] > 170 && p[0] < 90 && p[2] < 90; }}",
            timeout=20,
            what=f"the logo in the {who}'s preview",
        )
    grown()

    host.click("#end-show")
    host.click("#confirm-ok")
    host.wait_for_selector("#stream-status.badge-ended")
    worker.join(60)
    assert not worker.is_alive() and worker.error is None, worker.error

    seen = rgb_samples(recording, W, H)  # four a second
    side = next((i for i, f in enumerate(seen) if at(f, 0.25, 0.5) == "red" and at(f, 0.75, 0.5) == "blue"), None)
    assert side is not None, "never the custom arrangement with the host left, the guest right"
    moved = next(
        (i for i, f in enumerate(seen[side:], side) if at(f, 0.12, 0.5) == "blue" and at(f, 0.75, 0.5) != "blue"),
        None,
    )
    assert moved is not None, "the program never showed the guest's tile dragged to the left"
    branded = next((i for i, f in enumerate(seen[moved:], moved) if at(f, 0.86, 0.1) == "green"), None)
    assert branded is not None, "the kit's logo never reached the program"
