"""The review workspace's accessibility in headless Chromium: axe-core finds no serious or critical violation
on the queue and the session page (signed out, signed in, live), they reflow at 200 % zoom, and the sign-in
form shows no "Sign out" (there is nobody to sign out yet)."""

from __future__ import annotations

from a11y import assert_accessible, assert_reflows_at_200

from .test_review_browser import browser, server  # noqa: F401  (module fixtures: the app with a real session)
from .demo import PASSWORDS


def _open(browser, server, path):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = ctx.new_page()
    page.goto(server.url + path)
    page.wait_for_selector("#signin:not([hidden])")
    return ctx, page


def test_sign_in_form_has_no_sign_out_and_passes_axe(browser, server):  # noqa: F811
    for path in ("/review/", f"/review/session?id={server.session_id}"):
        ctx, page = _open(browser, server, path)
        assert page.is_hidden("#signout"), path
        assert_accessible(page, f"{path} signed out")
        email, password = PASSWORDS["proctor"]
        page.fill("#email", email)
        page.fill("#password", password)
        page.press("#password", "Enter")
        page.wait_for_selector("body[data-loaded='1']")
        assert page.is_visible("#signout"), path
        ctx.close()


def test_queue_and_session_pages_pass_axe_and_reflow(browser, server):  # noqa: F811
    ctx, page = _open(browser, server, "/review/")
    email, password = PASSWORDS["proctor"]
    page.fill("#email", email)
    page.fill("#password", password)
    page.press("#password", "Enter")
    page.wait_for_selector("body[data-loaded='1']")
    assert_accessible(page, "review queue")
    assert_reflows_at_200(page, "review queue")
    for sid, where in ((server.session_id, "review session"), (server.live_session_id, "review live session")):
        page.goto(server.url + f"/review/session?id={sid}")
        page.wait_for_selector("body[data-loaded='1']")
        page.wait_for_timeout(300)
        assert_accessible(page, where)
        assert_reflows_at_200(page, where)
    ctx.close()
