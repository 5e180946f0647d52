"""A synthetic guest as its own process (tests/deploy/support.start_synthetic_guest).

Reads GUEST_URL, GUEST_TOKEN, GUEST_COLOUR ("r,g,b") and GUEST_TONE_HZ from the environment,
joins the LiveKit room, publishes a solid-colour camera and a tone (tests.support.livekit's
SyntheticParticipant), prints "published" and keeps publishing until SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from tests.support.livekit import SyntheticParticipant


def main() -> None:
    colour = tuple(int(c) for c in os.environ["GUEST_COLOUR"].split(","))
    guest = SyntheticParticipant(os.environ["GUEST_URL"], os.environ["GUEST_TOKEN"])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    guest.connect()
    guest.publish(colour=colour, tone_hz=float(os.environ["GUEST_TONE_HZ"]))  # type: ignore[arg-type]
    sys.stdout.write("published\n")
    sys.stdout.flush()
    stop.wait()
    guest.close()


if __name__ == "__main__":
    main()
