"""bench/RESULTS.md: each benchmark owns one `## Title` section and rewrites only that."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def record_section(title: str, section: str) -> None:
    """Replace the section headed `## {title}` (up to the next `## `) with `section`, or append it."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    # A function as the replacement: backslashes in the section stay literal.
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)
