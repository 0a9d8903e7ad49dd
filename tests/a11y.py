"""Accessibility checks for the browser tests: axe-core (shipped inside the pinned ``axe-playwright-python``
wheel) with no serious or critical violation, and the page at 200 % zoom (the viewport a 1280 px wide screen
gives at 200 %) still fits its width without scrolling sideways and still passes axe (contrast included)."""

from __future__ import annotations

from typing import Any

BLOCKING = ("serious", "critical")


def axe_violations(page: Any, context: str | None = None) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=context)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results.response["violations"] if v["impact"] in BLOCKING]


def assert_accessible(page: Any, where: str) -> None:
    bad = axe_violations(page)
    assert not bad, f"axe-core: serious/critical violations on {where}: {bad}"


def assert_reflows_at_200(page: Any, where: str) -> None:
    """At 200 % zoom (a 1280 px screen shows 640 CSS px), nothing needs sideways scrolling, the text is as large
    as the page asked for, and axe still passes (contrast does not depend on the zoom, layout does)."""
    size = page.viewport_size
    page.set_viewport_size({"width": 640, "height": 900})
    try:
        page.wait_for_timeout(200)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{where}: {overflow}px of sideways scrolling at 200 % zoom"
        small = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null
            && e.childNodes.length && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())
            && parseFloat(getComputedStyle(e).fontSize) < 12).map(e => e.tagName + '#' + e.id).slice(0, 5)""")
        assert not small, f"{where}: text under 12 CSS px at 200 % zoom: {small}"
        assert_accessible(page, f"{where} at 200 % zoom")
    finally:
        page.set_viewport_size(size)


# ---- the same for Playwright's async API (the live scenarios run async) ----------------------------------
_SMALL_TEXT_JS = """() => [...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null
    && e.childNodes.length && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())
    && parseFloat(getComputedStyle(e).fontSize) < 12).map(e => e.tagName + '#' + e.id).slice(0, 5)"""


async def axe_violations_async(page: Any) -> list[dict[str, Any]]:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results.response["violations"] if v["impact"] in BLOCKING]


async def reflow_problems_async(page: Any) -> list[str]:
    """What breaks at 200 % zoom (empty when nothing does): sideways scrolling, text under 12 px, axe."""
    size = page.viewport_size
    await page.set_viewport_size({"width": 640, "height": 900})
    try:
        await page.wait_for_timeout(200)
        problems = []
        overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 1:
            problems.append(f"{overflow}px of sideways scrolling")
        small = await page.evaluate(_SMALL_TEXT_JS)
        if small:
            problems.append(f"text under 12 px: {small}")
        problems += [f"axe: {v}" for v in await axe_violations_async(page)]
        return problems
    finally:
        await page.set_viewport_size(size)
