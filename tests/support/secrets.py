"""Every shape a secret takes in our log lines, with the same secret in each (tests of the log redaction and
of Sentry's scrubbing use the one table)."""

from __future__ import annotations

SECRET = "Zq8xV3kP0wL7mN2b"  # what must never come out, in every row below

TABLE = [
    # RTMP(S) URLs with the key as the stream name (the way ffmpeg and OBS write them)
    f"connect rtmp://a.rtmp.youtube.com/live2/{SECRET} refused",
    f"rtmps://live-api-s.facebook.com:443/rtmp/FB-1234-0-{SECRET}",
    f"push to rtmp://127.0.0.1:1935/live/{SECRET}?backup=1 failed",
    f"url='rtmps://ingest.example.com/app/{SECRET}'",
    # query strings and form bodies
    f"POST https://id.twitch.tv/oauth2/token client_id=abc&client_secret={SECRET}&grant_type=refresh_token",
    f"GET https://graph.facebook.com/v24.0/live_comments?access_token={SECRET}&fields=message",
    f"refresh_token={SECRET}",
    f"stream_key={SECRET}",
    f"api_key={SECRET}",
    # JSON bodies and Python reprs of dicts
    f'{{"access_token": "{SECRET}", "expires_in": 3599, "token_type": "Bearer"}}',
    f'{{"refresh_token":"{SECRET}"}}',
    f'{{"client_secret" : "{SECRET}"}}',
    f'{{"stream_key": "{SECRET}", "name": "Main"}}',
    f"{{'access_token': '{SECRET}', 'scope': 'chat:read'}}",
    f"headers={{'Authorization': 'Bearer {SECRET}'}}",
    # IRC (Twitch chat) and OAuth headers
    f"> PASS oauth:{SECRET}",
    f"PASS oauth:{SECRET}\r\nNICK streamus",
    f"Authorization: OAuth {SECRET}",
    f"Authorization: Bearer {SECRET}",
    # JWTs and Fernet ciphertexts
    "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxLCJzIjoiWnE4eFYza1Awd0w3bU4yYiJ9.c2lnbmF0dXJl" + SECRET,
    "gAAAAABm" + SECRET * 3,
]
