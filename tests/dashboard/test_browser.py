"""The dashboard in headless Chromium: htmx works under the page CSP, without full reloads."""

from __future__ import annotations

import pytest

from apps.destinations.models import StreamDestination
from apps.streams.models import Stream
from tests.factories import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def page(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the ORM calls the
    # test makes between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        problems: list[str] = []
        # CSP violations and script errors are reported on the console; a 422 is our form-error answer.
        page.on(
            "console",
            lambda m: problems.append(m.text) if m.type == "error" and "status of 422" not in m.text else None,
        )
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("dialog", lambda dialog: problems.append(f"browser dialog: {dialog.message}"))  # hx-confirm uses ours
        page.problems = problems  # type: ignore[attr-defined]
        yield page
        browser.close()


def confirm_in_app_dialog(page) -> None:
    """hx-confirm asks in the app's own modal dialog (static/src/app.js); answer it as a user would."""
    dialog = page.locator("dialog.confirm-dialog[open]")
    dialog.wait_for()
    dialog.get_by_role("button", name="Yes, go ahead").click()


def test_create_stream_and_destination_without_reloads(page, web, user, canary_key):
    page.goto(f"{web.url}/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{web.url}/")
    page.get_by_text("No streams yet").wait_for()

    # A marker that a full page load would wipe out.
    page.evaluate("window.__noReload = true")
    page.click("text=New stream")
    page.fill("#id_title", "Browser show")
    page.click("#stream-create button[type=submit]")
    stream_row = page.locator("#stream-list .list-row").first
    stream_row.wait_for()
    assert "Browser show" in stream_row.inner_text()
    assert page.locator("#stream-create form").count() == 0  # the create panel emptied
    assert page.locator("#dashboard-stats .stat-value").first.inner_text() == "1"
    assert page.evaluate("window.__noReload") is True
    stream = Stream.objects.get(owner=user, title="Browser show")

    # Inline edit with an error shown in place, then fixed.
    page.click(f"#stream-{stream.id} >> text=Edit")
    page.fill(f"#stream-{stream.id} input[name=title]", "")
    page.click(f"#stream-{stream.id} button[type=submit]")
    page.locator(f"#stream-{stream.id} .errorlist").wait_for()
    page.fill(f"#stream-{stream.id} input[name=title]", "Browser show, renamed")
    page.click(f"#stream-{stream.id} button[type=submit]")
    page.locator(f"#stream-{stream.id} >> text=Browser show, renamed").wait_for()
    assert page.locator(f"#stream-{stream.id}.is-editing").count() == 0
    assert page.evaluate("window.__noReload") is True

    # Destinations on the stream's page.
    page.click(f"#stream-{stream.id} >> text=Details")
    page.wait_for_url(f"{web.url}/streams/{stream.id}/")
    page.evaluate("window.__noReload = true")
    page.select_option("#id_platform", "custom")
    page.fill("#id_name", "Relay")
    page.fill("#id_rtmp_url", "rtmp://127.0.0.1:1935/live")
    page.fill("#id_stream_key", canary_key)
    page.click("#destination-create button[type=submit]")
    row = page.locator("#destination-list .list-row").first
    row.wait_for()
    assert "\u2022\u2022\u2022\u2022WXYZ" in row.inner_text()
    assert canary_key not in page.content()
    assert page.input_value("#id_stream_key") == ""
    assert StreamDestination.objects.get(stream=stream).decrypt_stream_key() == canary_key

    page.click("#destination-list button[aria-label='Remove Relay']")
    confirm_in_app_dialog(page)
    page.get_by_text("Nowhere to go live yet").wait_for()
    assert not StreamDestination.objects.filter(stream=stream).exists()
    assert page.evaluate("window.__noReload") is True

    # Back on the dashboard: open and cancel the create panel, then delete the stream (hx-confirm accepted).
    page.click("text=Dashboard")
    page.wait_for_url(f"{web.url}/")
    page.evaluate("window.__noReload = true")
    page.click("text=New stream")
    page.locator("#stream-create form").wait_for()
    page.click("#stream-create >> text=Cancel")
    assert page.locator("#stream-create").inner_html() == ""
    page.click(f"#stream-{stream.id} button[aria-label^='Delete']")
    confirm_in_app_dialog(page)
    page.get_by_text("No streams yet").wait_for()
    assert not Stream.objects.filter(pk=stream.pk).exists()
    assert page.evaluate("window.__noReload") is True
    assert page.problems == []  # type: ignore[attr-defined]
