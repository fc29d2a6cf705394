"""The dashboard in real headless Chromium (Debian's package, driven by Playwright) on
the demo data set: every page draws its chart or graph, navigation works, Arabic
names run right to left, and no page logs a JavaScript error or CSP violation.

Screenshots of every page land in ``docs/screenshots/`` (CI keeps them as artifacts).
Skipped when Chromium is absent, unless ``MRD_REQUIRE_BROWSER`` is set (``.ci/run``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.tools.demo import DEFAULT_TWEETS
from app.tools.importers.tweets import account_key, read_rows

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Any pixel drawn on any canvas inside the element.
CANVAS_DRAWN = """element => [...element.querySelectorAll('canvas')].some(canvas => {
    if (!canvas.width || !canvas.height) return false;
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
    return false;
})"""

if not Path(CHROMIUM).is_file():
    if os.environ.get("MRD_REQUIRE_BROWSER"):
        raise RuntimeError(f"Chromium is required for the browser tests ({CHROMIUM} missing)")
    pytest.skip("Chromium is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


class Browser:
    """One page in headless Chromium that records every error it meets."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda message: (
                message.type == "error" and self.errors.append(f"console: {message.text}")
            ),
        )

    def open(self, route: str, ready: str) -> None:
        self.page.goto(f"{self.base}/ui/#{route}")
        self.wait_ready(ready)

    def wait_ready(self, ready: str) -> None:
        self.page.wait_for_selector(f"body[data-ready='{ready}']", timeout=20_000)

    def drawn(self, testid: str) -> bool:
        element = self.page.locator(f"[data-testid='{testid}']")
        element.wait_for(timeout=10_000)
        return bool(element.evaluate(CANVAS_DRAWN))

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def browser(demo_service: tuple[str, str]) -> Iterator[Browser]:
    base, key = demo_service
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        driver = Browser(page, base)
        # The key is asked for once and kept for the browser session.
        page.goto(f"{base}/ui/")
        form = page.locator("[data-testid='key-form']")
        form.wait_for(timeout=20_000)
        form.locator("input").fill(key)
        form.locator("button[type='submit'], input[type='submit']").first.click()
        driver.wait_ready("targets")
        yield driver
        chromium.close()
    assert driver.errors == [], driver.errors


def api(demo_service: tuple[str, str], path: str) -> Any:
    base, key = demo_service
    answer = httpx.get(base + path, headers={"X-API-Key": key}, timeout=30)
    answer.raise_for_status()
    return answer.json()


def test_targets_page_lists_accounts_under_attack(
    browser: Browser, demo_service: tuple[str, str]
) -> None:
    browser.open("/targets", "targets")
    top = api(demo_service, "/v1/targets?limit=5")["items"][0]["account_id"]
    table = browser.page.locator("[data-testid='targets-table']")
    assert table.locator(f"text={top}").count() >= 1
    browser.shot("targets")
    assert browser.errors == []


def test_waves_timeline_is_drawn_and_leads_to_a_wave(browser: Browser) -> None:
    browser.open("/waves", "waves")
    assert browser.drawn("timeline-chart")
    browser.shot("waves")
    rows = browser.page.locator("[data-testid='waves-table'] a[href*='#/wave/']")
    assert rows.count() > 0
    rows.first.click()
    browser.wait_ready("wave")
    assert browser.errors == []


def test_wave_page_draws_arrivals_signals_and_reporters(
    browser: Browser, demo_service: tuple[str, str]
) -> None:
    waves = api(demo_service, "/v1/waves?label=orchestrated&limit=1000")["items"]
    wave = max(waves, key=lambda w: (w["score"], w["report_count"]))
    browser.open(f"/wave/{wave['wave_id']}", "wave")
    assert browser.drawn("arrival-chart")
    signals = browser.page.locator("[data-testid='signals']")
    assert signals.inner_text().strip()
    # Each signal explains itself: its definition on hover, the organic reference, and
    # how far it moved the score; the strongest push comes first.
    catalogue = {s["name"]: s for s in api(demo_service, "/v1/signals")["items"]}
    detail = api(demo_service, f"/v1/waves/{wave['wave_id']}")
    strongest = max(detail["contributions"].items(), key=lambda kv: abs(kv[1]))[0]
    first = signals.locator(".signal").first
    assert first.get_attribute("data-signal") == strongest
    name = first.locator(".signal-name")
    assert name.get_attribute("title") == catalogue[strongest]["definition"]
    name.hover()
    assert "organic ≈" in first.inner_text()
    reporters = browser.page.locator("[data-testid='reporters-table'] a[href*='#/account/']")
    assert reporters.count() == min(wave["reporter_count"], 200)
    browser.shot("wave")
    # From the wave to one of its reporters.
    reporters.first.click()
    browser.wait_ready("account")
    assert browser.errors == []


def test_network_draws_ties_and_labels_and_a_hub_leads_to_its_waves(
    browser: Browser, demo_service: tuple[str, str]
) -> None:
    network = api(demo_service, "/v1/network/tiers")
    assert network["ties"]
    browser.open("/network", "network")
    assert browser.drawn("network-graph")
    browser.shot("network")
    drawn = browser.page.evaluate(
        """() => { const cy = document.querySelector('#network-graph')._cyreg.cy;
        return { edges: cy.edges().length,
                 labels: cy.nodes('[tier <= 2]').map(n => n.data('label')) }; }"""
    )
    assert drawn["edges"] > 0
    official = network["tiers"]["1"]["accounts"][0]
    assert "@" + network["accounts"][official]["handle"] in drawn["labels"]
    # A hub that directed waves: find it, open its panel, follow a wave it directed.
    hub = next(
        h["account_id"]
        for h in network["hubs"]
        if api(demo_service, f"/v1/accounts/{h['account_id']}/risk")["waves_directed"]
    )
    find = browser.page.locator("[data-testid='network-find']")
    find.fill("@" + network["accounts"][hub]["handle"])
    find.press("Enter")
    panel = browser.page.locator("[data-testid='network-panel']")
    waves = panel.locator("[data-testid='panel-waves'] a[href*='#/wave/']")
    waves.first.wait_for(timeout=10_000)
    assert hub in panel.locator("h3").inner_text()
    waves.first.click()
    browser.wait_ready("wave")
    assert browser.errors == []


def test_account_page_shows_risk_tier_and_right_to_left_names(
    browser: Browser, demo_service: tuple[str, str]
) -> None:
    network = api(demo_service, "/v1/network/tiers")
    hub = network["hubs"][0]["account_id"]
    browser.open(f"/account/{hub}", "account")
    risk = browser.page.locator("[data-testid='account-risk']")
    text = risk.inner_text()
    assert "tier" in text.lower() and "reporter" in text.lower()
    browser.shot("account")

    if DEFAULT_TWEETS.is_file():
        account_id, name = arabic_author()
        browser.open(f"/account/{account_id}", "account")
        shown = browser.page.get_by_text(name, exact=True).first
        assert shown.evaluate("e => getComputedStyle(e).direction") == "rtl"
        browser.shot("account-arabic")
    assert browser.errors == []


def arabic_author() -> tuple[str, str]:
    """An author of the real tweets whose display name is written in Arabic."""
    for row in read_rows(DEFAULT_TWEETS):
        name = row["name"].strip()
        if name and all("\u0600" <= ch <= "\u06ff" or ch == " " for ch in name):
            return account_key(row["username"].strip()), name
    raise AssertionError("no Arabic display name in the real data")


def test_navigation_between_pages(browser: Browser) -> None:
    browser.open("/targets", "targets")
    for link, ready in (("Waves", "waves"), ("Network", "network"), ("Targets", "targets")):
        browser.page.locator("nav").get_by_text(link, exact=True).click()
        browser.wait_ready(ready)
    assert browser.errors == []


def test_accounts_with_awkward_ids_open_from_their_links(
    browser: Browser, demo_service: tuple[str, str]
) -> None:
    """Ids may hold "/", "%", "?", "#", spaces and Arabic: the dashboard's own account
    links lead to each account's page, and its profile loads."""
    base, key = demo_service
    awkward = ["a/b", "x/risk", "100%", "what?", "x#y", "with space", "حساب/عربي"]
    accounts = [
        {"account_id": account_id, "handle": f"odd{n}", "display_name": f"Awkward {n}"}
        for n, account_id in enumerate(awkward)
    ]
    sent = httpx.post(
        f"{base}/v1/accounts", json={"accounts": accounts}, headers={"X-API-Key": key}
    )
    assert sent.json()["rejected"] == []
    browser.open("/targets", "targets")
    for n, account_id in enumerate(awkward):
        href = browser.page.evaluate(
            "id => import('/ui/js/dom.js').then(m => m.accountLink(id).getAttribute('href'))",
            account_id,
        )
        browser.page.goto(f"{base}/ui/{href}")
        browser.page.locator(".profile-name").get_by_text(f"Awkward {n}").wait_for(timeout=10_000)
        heading = browser.page.locator("h1").inner_text()
        assert account_id in heading, (account_id, heading)
    assert browser.errors == []


def test_lists_show_handles_beside_ids(browser: Browser, demo_service: tuple[str, str]) -> None:
    targets = api(demo_service, "/v1/targets?limit=5")
    top = targets["items"][0]["account_id"]
    browser.open("/targets", "targets")
    row = browser.page.locator("[data-testid='targets-table'] a.acct").first
    assert "@" + targets["accounts"][top]["handle"] in row.inner_text()
    waves = api(demo_service, "/v1/waves?limit=1")
    first = waves["items"][0]
    browser.open("/waves", "waves")
    table = browser.page.locator("[data-testid='waves-table']")
    assert table.get_by_text("@" + waves["accounts"][first["target_id"]]["handle"]).count() >= 1
    wave = api(demo_service, f"/v1/waves/{first['wave_id']}")
    browser.open(f"/wave/{first['wave_id']}", "wave")
    reporter = max(wave["reporters"], key=lambda r: r["reporter_risk"])["account_id"]
    reporters = browser.page.locator("[data-testid='reporters-table']")
    assert reporters.get_by_text("@" + wave["accounts"][reporter]["handle"]).count() == 1
    assert browser.errors == []


def test_search_finds_an_account_by_handle(browser: Browser, demo_service: tuple[str, str]) -> None:
    top = api(demo_service, "/v1/targets?limit=1")
    account_id = top["items"][0]["account_id"]
    handle = top["accounts"][account_id]["handle"]
    browser.open("/waves", "waves")
    box = browser.page.locator("[data-testid='search-input']")
    box.fill("@" + handle)
    found = browser.page.locator("[data-testid='search-results'] a", has_text=account_id)
    found.first.wait_for(timeout=10_000)
    found.first.click()
    browser.wait_ready("account")
    assert account_id in browser.page.locator("h1").inner_text()
    assert browser.errors == []


def test_orchestrator_page_lists_its_waves_and_the_wave_shows_its_order(
    browser: Browser, demo_service: tuple[str, str]
) -> None:
    waves = api(demo_service, "/v1/waves?label=orchestrated&limit=1000")["items"]
    wave = next(w for w in waves if w["orchestrators"] and w["orchestrators"][0]["directive"])
    leader = wave["orchestrators"][0]["account_id"]
    detail = api(demo_service, f"/v1/waves/{wave['wave_id']}")
    browser.open(f"/wave/{wave['wave_id']}", "wave")
    order = detail["orchestrators"][0]["directive"]["text"]
    orchestrators = browser.page.locator("[data-testid='orchestrators-table']")
    assert orchestrators.get_by_text(order, exact=True).count() == 1
    texts = browser.page.locator("[data-testid='report-texts'] li")
    assert texts.count() == len(detail["sample_texts"]) > 0
    orchestrators.locator("a.acct").first.click()
    browser.wait_ready("account")
    directed = browser.page.locator("[data-testid='directed-waves-table'] a[href*='#/wave/']")
    risk = api(demo_service, f"/v1/accounts/{leader}/risk")
    assert directed.count() == len(risk["waves_directed"]) > 0
    assert wave["wave_id"] in directed.all_inner_texts()
    browser.shot("orchestrator")
    directed.first.click()
    browser.wait_ready("wave")
    assert browser.errors == []


# ReDoc's sidebar footer always asks its CDN for a logo; the policy blocks the request
# before it leaves and ReDoc drops the image. Nothing else may be refused.
REDOC_LOGO_REFUSED = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.mark.parametrize(
    ("page_path", "rendered"),
    [("/docs", ".opblock-summary"), ("/redoc", "li[data-item-id] label")],
)
def test_api_docs_render_with_the_network_cut_off(
    browser: Browser, demo_service: tuple[str, str], page_path: str, rendered: str
) -> None:
    base, _ = demo_service
    page = browser.page.context.browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    problems: list[str] = []

    def local_only(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and REDOC_LOGO_REFUSED not in message.text
            and problems.append(message.text)
        ),
    )
    answer = page.goto(base + page_path)
    assert answer is not None and "script-src 'self'" in answer.headers["content-security-policy"]
    page.wait_for_selector(rendered, timeout=30_000)
    # Every operation is listed: the document loaded and rendered from local assets.
    assert page.locator(rendered).count() >= 30
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / f"api{page_path.replace('/', '-')}.png"))
    page.close()
    assert outside == []
    assert problems == []
