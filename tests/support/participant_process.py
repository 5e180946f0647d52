"""A synthetic participant (tests/support/livekit.py) in a process of its own.

A camera that a test only watches is kept out of the test process: that process also decodes what the ingest
received, and on two loaded cores a participant sharing it can miss half a second of frames, which the
compositor rightly draws as a name card. Used through `tests.support.livekit.participant_process`.

    python -m tests.support.participant_process URL --colour R,G,B [--tone HZ] [--fps N]

The token comes on the first line of stdin (never on the command line); the process prints "published" once
its tracks are up and runs until stdin closes.
"""

from __future__ import annotations

import argparse
import sys

from tests.support.livekit import SyntheticParticipant


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--colour", required=True, help="R,G,B")
    parser.add_argument("--tone", type=float, default=None)
    parser.add_argument("--fps", type=int, default=15)
    args = parser.parse_args()
    token = sys.stdin.readline().strip()
    colour = tuple(int(v) for v in args.colour.split(","))
    participant = SyntheticParticipant(args.url, token, fps=args.fps)
    try:
        participant.connect().publish(colour=colour, tone_hz=args.tone)  # type: ignore[arg-type]
        print("published", flush=True)
        sys.stdin.read()  # until the test closes our stdin (or dies)
    finally:
        participant.close()


if __name__ == "__main__":
    main()
