"""Hostile chat text comes out as plain, single-line, bounded text; real text and emoji survive."""

from __future__ import annotations

import unicodedata

import pytest

from apps.engagement.sanitize import DEFAULT_MAX_LENGTH, MAX_COMBINING_PER_BASE, sanitize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hi <script>alert(document.cookie)</script>there", "hi there"),
        ('<img src=x onerror="alert(1)">pic', "pic"),
        ("<b>bold</b> and <i>italic</i>", "bold and italic"),
        # Entities decode once and the result is stripped again: no second-order tags.
        ("&lt;script&gt;alert(1)&lt;/script&gt;ok", "ok"),
        ("unclosed <script>alert(1)", "unclosed"),
        ("<style>body{display:none}</style>visible", "visible"),
        # Text that only looks like markup is kept.
        ("I <3 you and 2 < 3 > 1", "I <3 you and 2 < 3 > 1"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
    ],
)
def test_markup_is_removed_and_plain_text_kept(raw, expected):
    assert sanitize_text(raw) == expected


def test_bidi_overrides_and_isolates_are_removed():
    # "exe.gnp" rendered right-to-left shows as "png.exe": the classic filename spoof.
    raw = "free \u202egnp.exe\u202c and \u2066isolated\u2069 \u200fmark\u200e \u202a\u202b\u202d"
    clean = sanitize_text(raw)
    assert clean == "free gnp.exe and isolated mark"
    assert not any(unicodedata.category(ch) == "Cf" for ch in clean)


def test_real_rtl_text_survives():
    assert sanitize_text("שלום עולם") == "שלום עולם"
    assert sanitize_text("مرحبا بالعالم") == "مرحبا بالعالم"


def test_zalgo_is_capped_per_character():
    zalgo = "H" + "\u0315\u031b\u0340\u0341\u0358\u0321\u0322\u0327\u0328\u0334" * 10 + "i"
    clean = sanitize_text(zalgo)
    assert clean.startswith("H") and clean.endswith("i")
    marks = [ch for ch in clean if unicodedata.combining(ch)]
    assert len(marks) == MAX_COMBINING_PER_BASE


def test_accented_scripts_keep_their_marks():
    for text in ["Tiếng Việt", "Ελληνικά ά", "नमस्ते दुनिया", "ภาษาไทย"]:
        assert sanitize_text(text) == unicodedata.normalize("NFC", text)


def test_emoji_including_zwj_sequences_skin_tones_keycaps_and_flags_survive():
    text = "👨\u200d👩\u200d👧\u200d👦 👍🏽 1\ufe0f\u20e3 🏳️\u200d🌈 🇫🇷 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    assert sanitize_text(text) == text


def test_invisible_tag_characters_outside_flags_are_removed():
    # Unicode tag characters smuggle invisible ASCII ("ignore previous...") past human moderators.
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "hidden")
    assert sanitize_text(f"hello{hidden} world") == "hello world"


def test_control_characters_and_whitespace_runs_collapse():
    assert sanitize_text("a\x00b\x07c\r\n\n\td\u200b\ufeffe\u2028f   g") == "a bc de f g"


def test_ten_kilobyte_message_is_capped_without_breaking_an_emoji():
    raw = ("spam " * 2048)[:10_240]
    clean = sanitize_text(raw)
    assert len(clean) <= DEFAULT_MAX_LENGTH
    assert clean.endswith("\u2026")
    family = "👨\u200d👩\u200d👧\u200d👦"
    clean = sanitize_text("a" * (DEFAULT_MAX_LENGTH - 3) + family * 5)
    assert len(clean) <= DEFAULT_MAX_LENGTH
    assert "\u200d" not in clean  # the family did not fit: it is dropped whole, not cut after a joiner


def test_huge_markup_flood_is_bounded():
    raw = "<b>" * 100_000 + "hi"
    assert len(sanitize_text(raw)) <= DEFAULT_MAX_LENGTH


def test_empty_and_none():
    assert sanitize_text(None) == ""
    assert sanitize_text("   <br>  ") == ""
