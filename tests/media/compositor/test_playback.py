"""Clips played into the program: the clip player's timeline (frames, audio, playlist boundaries) on generated
clips, and CanvasProgram playing a playlist full screen or as a layer, then going back to the layout."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from apps.studio.playback import with_clip
from media.broadcast.source import rgb_to_yuv, solid_i420
from media.compositor.playback import ClipPlayer, contained_size
from media.compositor.program import CompositorSession
from media.compositor.renderer import SourceFrame, planes
from media.scene.layout import Participant, compose
from tests.support.compositor import CLIP_COLOURS, CLIP_TONES, GREEN, make_clip

pytestmark = pytest.mark.media

W, H, FPS = 320, 180, 15
RATE = 48000
PARTICIPANT_TONE = 3200.0


# Clip colours as ffmpeg names them, with their RGB; each clip has its own tone.
@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("clips")


def item(path: Path, colour: str, seconds: float, index: int) -> dict:
    return {"path": str(path), "source": f"clip:{index}", "title": colour, "duration": seconds}


def level_at(audio: np.ndarray, freq: float) -> float:
    audio = audio.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    freqs = np.fft.rfftfreq(len(audio), 1 / RATE)
    band = (freqs > freq - 30) & (freqs < freq + 30)
    return float(spectrum[band].max() / len(audio))


def wait_decoded(player: ClipPlayer, t: float, timeout: float = 10.0) -> None:
    """The test reads faster than real time: let the decoder get to `t` first (the program never waits)."""
    deadline = time.monotonic() + timeout
    while player.buffered_until() < min(t, player.decoded_end or t) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert player.buffered_until() >= min(t, player.decoded_end or t), f"decoder stuck before {t}s"


def near(a, b, tol=12) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def centre_yuv(data: np.ndarray, w: int, h: int, x: int | None = None, y: int | None = None) -> tuple[int, int, int]:
    yp, up, vp = planes(data, w, h)
    x = w // 2 if x is None else x
    y = h // 2 if y is None else y
    return int(yp[y, x]), int(up[y // 2, x // 2]), int(vp[y // 2, x // 2])


def test_contained_size_keeps_the_aspect_and_even_sizes():
    assert contained_size(1920, 1080, 320, 180) == (320, 180)
    assert contained_size(1920, 1080, 180, 320) == (180, 100)
    assert contained_size(1080, 1920, 320, 180) == (100, 180)


def test_a_playlist_is_one_timeline_frames_and_audio(clips):
    """Two clips of 1.0 s at a 15 fps program: 15 red frames, 15 blue frames, then the end; the tones switch at
    exactly sample 48000 and every frame carries exactly its 3200 samples."""
    red, blue = make_clip(clips, "red", 1.0), make_clip(clips, "blue", 1.0)
    sizes = {"landscape": (64, 36), "vertical": (36, 64)}
    player = ClipPlayer([item(red, "red", 1.0, 1), item(blue, "blue", 1.0, 2)], sizes=sizes, fps=FPS).start()
    try:
        colours, audio, ends = [], [], []
        for n in range(32):
            wait_decoded(player, (n + 1) / FPS)
            frame, samples, finished = player.read("landscape", RATE // FPS)
            vertical, _, _ = player.read("vertical", RATE // FPS)
            assert frame is not None and vertical is not None
            assert (frame.width, frame.height) == (64, 36) and (vertical.width, vertical.height) == (36, 20)
            colours.append(centre_yuv(frame.data, 64, 36))
            audio.append(samples)
            ends.append(finished)
        red_yuv, blue_yuv = rgb_to_yuv(CLIP_COLOURS["red"]), rgb_to_yuv(CLIP_COLOURS["blue"])
        assert all(near(c, red_yuv) for c in colours[:15]), colours[:16]
        assert all(near(c, blue_yuv) for c in colours[15:30]), colours[14:31]
        assert ends[:30] == [False] * 30 and all(ends[30:]), "over after exactly 2.0 s"
        assert player.clip_starts == [0.0, 1.0] and player.decoded_end == pytest.approx(2.0)
        assert all(a.shape == (RATE // FPS, 2) for a in audio)
        mono = np.concatenate(audio)[:, 0]
        first, second = mono[2000:46000], mono[50000:94000]  # away from the AAC edges of each clip
        assert level_at(first, CLIP_TONES["red"]) > 20 * level_at(first, CLIP_TONES["blue"])
        assert level_at(second, CLIP_TONES["blue"]) > 20 * level_at(second, CLIP_TONES["red"])
        assert np.abs(mono[2 * RATE :]).max() == 0, "silence after the end"
        progress = player.progress("landscape")
        assert progress["finished"] and progress["remaining"] == 0 and progress["clip"] == "clip:2"
    finally:
        player.stop()


def test_the_clip_clock_starts_with_its_first_picture(clips):
    """Until the first picture is decoded the clip has not started: nothing to show, silence, no time used."""
    red = make_clip(clips, "red", 1.0)
    player = ClipPlayer([item(red, "red", 1.0, 1)], sizes={"landscape": (32, 18)}, fps=FPS)
    frame, audio, finished = player.read("landscape", RATE // FPS)  # the decode thread has not even started
    assert frame is None and not finished and not audio.any()
    assert player.progress("landscape")["elapsed"] == 0
    player.start()
    try:
        wait_decoded(player, 1 / FPS)
        frame, _, _ = player.read("landscape", RATE // FPS)
        assert frame is not None and near(centre_yuv(frame.data, 32, 18), rgb_to_yuv(CLIP_COLOURS["red"]))
        assert player.progress("landscape")["elapsed"] == pytest.approx(1 / FPS, abs=1e-3)
    finally:
        player.stop()


def test_no_drift_over_a_playlist_of_odd_lengths(clips):
    """Clip boundaries land on the sums of the clips' video lengths, and audio stays exactly that long."""
    lengths = [0.7, 0.9, 0.7]
    colours = ["red", "blue", "yellow"]
    items = [item(make_clip(clips, c, s), c, s, i) for i, (c, s) in enumerate(zip(colours, lengths, strict=True))]
    player = ClipPlayer(items, sizes={"landscape": (32, 18)}, fps=30).start()
    try:
        seen = []
        n = 0
        while not player.finished("landscape") and n < 200:
            wait_decoded(player, (n + 1) / 30)
            frame, samples, _ = player.read("landscape", RATE // 30)
            assert frame is not None and samples.shape == (RATE // 30, 2)
            seen.append(centre_yuv(frame.data, 32, 18))
            n += 1
        assert player.clip_starts == pytest.approx([0.0, 0.7, 1.6])
        assert player.decoded_end == pytest.approx(2.3)
        assert n == 69, "2.3 s at 30 fps"
        expected = [colours[0]] * 21 + [colours[1]] * 27 + [colours[2]] * 21
        assert all(near(c, rgb_to_yuv(CLIP_COLOURS[e])) for c, e in zip(seen, expected, strict=True))
        progress = player.progress("landscape")
        assert progress["index"] == 2 and progress["remaining"] == 0
    finally:
        player.stop()


def test_progress_reports_clip_position_and_remaining(clips):
    red, blue = make_clip(clips, "red", 1.0), make_clip(clips, "blue", 1.0)
    player = ClipPlayer([item(red, "red", 1.0, 1), item(blue, "blue", 1.0, 2)], sizes={"l": (32, 18)}, fps=10)
    player.start()
    try:
        for n in range(13):
            wait_decoded(player, (n + 1) / 10)
            player.read("l", 4800)
        progress = player.progress("l")
        assert progress["index"] == 1 and progress["clip"] == "clip:2"
        assert progress["position"] == pytest.approx(0.3)
        assert progress["remaining"] == pytest.approx(0.7) and progress["clip_remaining"] == pytest.approx(0.7)
    finally:
        player.stop()


# --- the program ----------------------------------------------------------------------------


def playback_state(paths: list[tuple[Path, str, float]], mode: str, transition: dict, version: int) -> dict:
    playback = {
        "id": f"pb-{version}",
        "mode": mode,
        "transition": transition,
        "started_at": time.time(),
        "duration": sum(s for _p, _c, s in paths),
        "items": [item(p, c, s, i) for i, (p, c, s) in enumerate(paths)],
    }
    graph = compose(layout="solo", on_stage=[Participant(id="green")], canvas=(W, H)).to_dict()
    return {
        "version": version,
        "scene": {"transition": {"kind": "cut"}, "playback": playback},
        "canvases": {"landscape": with_clip(graph, playback)},
    }


def offline(state: dict) -> CompositorSession:
    session = CompositorSession(url="ws://unused", token="unused", canvases={"landscape": (W, H)}, fps=FPS, state=state)
    session.connected = True
    session.program("landscape")._running = True
    return session


def read_all(session: CompositorSession, frames: int, participant_tone: bool = True):
    """Read like the engine (decoder given time to keep up); a green participant with its own tone is live."""
    program = session.program("landscape")
    out = []
    for n in range(frames):
        session._frames = {"green": SourceFrame(W, H, solid_i420(W, H, GREEN), time.monotonic())}
        if participant_tone:
            t = np.arange(n * RATE // FPS, (n + 1) * RATE // FPS) / RATE
            tone = (3000 * np.sin(2 * np.pi * PARTICIPANT_TONE * t)).astype(np.int16)
            program.mixer.push("green", np.repeat(tone[:, None], 2, axis=1))
        if session.player is not None:
            wait_decoded(session.player, (n + 1) / FPS)
        frame = program.read(0.01)
        assert frame is not None
        out.append(frame)
    return out


def test_program_plays_a_playlist_full_screen_then_cuts_back_to_the_layout(clips):
    red, blue = make_clip(clips, "red", 1.0), make_clip(clips, "blue", 1.0)
    state = playback_state([(red, "red", 1.0), (blue, "blue", 1.0)], "fullscreen", {"kind": "cut"}, 1)
    session = offline(state)
    try:
        frames = read_all(session, 40)
        centre = [centre_yuv(f.video, W, H) for f in frames]
        red_yuv, blue_yuv, green_yuv = (rgb_to_yuv(c) for c in (CLIP_COLOURS["red"], CLIP_COLOURS["blue"], GREEN))
        assert all(near(c, red_yuv) for c in centre[:15]), centre[:15]
        assert all(near(c, blue_yuv) for c in centre[15:30]), centre[15:30]
        assert all(near(c, green_yuv) for c in centre[31:]), "back to the layout (a cut)"
        assert session.player is None and "pb-1" in session._finished_playbacks
        # The clip's tone is mixed with the room while it plays; after it, only the room.
        during = np.concatenate([f.audio for f in frames[2:13]])[:, 0]
        after = np.concatenate([f.audio for f in frames[32:]])[:, 0]
        assert level_at(during, CLIP_TONES["red"]) > 0.2 * level_at(during, PARTICIPANT_TONE) > 0
        assert level_at(after, CLIP_TONES["blue"]) < 0.01 * level_at(after, PARTICIPANT_TONE)
        # A later scene that still carries the finished playback does not bring the clip back.
        again = {**state, "version": 2}
        session.set_scene(again)
        assert near(centre_yuv(read_all(session, 1)[0].video, W, H), green_yuv)
    finally:
        session.stop()


def test_program_plays_a_clip_as_a_layer_and_fades_back(clips):
    red = make_clip(clips, "red", 1.0)
    state = playback_state([(red, "red", 1.0)], "layer", {"kind": "fade", "duration_ms": 400}, 1)
    rect = next(layer["rect"] for layer in state["canvases"]["landscape"]["layers"] if layer["kind"] == "clip")
    assert rect["x"] + rect["w"] <= W and rect["x"] > W // 2 and rect["y"] < H // 4, rect
    layout = compose(layout="solo", on_stage=[Participant(id="green")], canvas=(W, H)).to_dict()
    session = offline({"version": 0, "scene": {}, "canvases": {"landscape": layout}})
    try:
        read_all(session, 2)
        session.set_scene(state)  # the host presses play during the show
        frames = read_all(session, 17)
        # The clip ended on frame 15 and the fade out runs; the stored scene catches up (no playback any more):
        # the same layout, so the fade goes on.
        session.set_scene({"version": 3, "scene": {"transition": {"kind": "cut"}}, "canvases": {"landscape": layout}})
        frames += read_all(session, 13)
        cx, cy = rect["x"] + rect["w"] // 2, rect["y"] + rect["h"] // 2
        red_yuv, green_yuv = rgb_to_yuv(CLIP_COLOURS["red"]), rgb_to_yuv(GREEN)
        # The fade in: the clip's box goes from green to red over 6 frames (400 ms at 15 fps).
        inside = [centre_yuv(f.video, W, H, cx, cy)[0] for f in frames]
        assert not near(centre_yuv(frames[0].video, W, H, cx, cy), red_yuv)
        assert all(near(centre_yuv(f.video, W, H, cx, cy), red_yuv) for f in frames[6:15]), inside[:16]
        # Outside the box: the layout all along.
        assert all(near(centre_yuv(f.video, W, H, 40, H - 40), green_yuv) for f in frames)
        # The fade out after the clip's 15 frames: intermediate values, then green.
        assert all(min(red_yuv[0], green_yuv[0]) - 2 <= v <= max(red_yuv[0], green_yuv[0]) + 2 for v in inside)
        between = [v for v in inside[15:24] if abs(v - red_yuv[0]) > 6 and abs(v - green_yuv[0]) > 6]
        assert between, inside[14:26]
        assert all(near(centre_yuv(f.video, W, H, cx, cy), green_yuv) for f in frames[24:]), inside[20:]
    finally:
        session.stop()


def test_stopping_the_playback_goes_back_on_the_next_frame(clips):
    red = make_clip(clips, "red", 1.0)
    state = playback_state([(red, "red", 1.0)], "fullscreen", {"kind": "cut"}, 1)
    session = offline(state)
    try:
        frames = read_all(session, 5)
        assert near(centre_yuv(frames[-1].video, W, H), rgb_to_yuv(CLIP_COLOURS["red"]))
        player = session.player
        stopped = {**state, "version": 2, "scene": {"transition": {"kind": "cut"}}}
        stopped["canvases"] = {
            "landscape": compose(layout="solo", on_stage=[Participant(id="green")], canvas=(W, H)).to_dict()
        }
        session.set_scene(stopped)
        assert session.player is None and player is not None and player._stop.is_set()
        assert near(centre_yuv(read_all(session, 1)[0].video, W, H), rgb_to_yuv(GREEN))
    finally:
        session.stop()
