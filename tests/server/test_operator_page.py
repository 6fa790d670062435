"""The operator page in a real headless Chromium (Debian chromium + chromium-driver, Selenium):
a live alert arrives, the operator confirms it, the API shows the review."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from api_daemon import OPERATOR, VIEWER, api_config, make_event, running_daemon, still_clip
from vsa_stream.events import CAUSES

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs the Debian packages chromium and chromium-driver (.ci/apt-packages)",
)

# Hang guard for the browser waits (not a speed check).
_WAIT_S = 30


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    assert CHROMIUM is not None
    assert DRIVER is not None
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _login(browser: webdriver.Chrome, url: str, token: str) -> WebDriverWait[webdriver.Chrome]:
    browser.get(url + "/operator")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.ID, "connect").click()
    wait = WebDriverWait(browser, _WAIT_S)
    wait.until(ec.text_to_be_present_in_element((By.ID, "stream-status"), "live"))
    return wait


def test_live_alert_confirmed_from_the_page(browser: webdriver.Chrome, tmp_path: Path) -> None:
    clip = still_clip(tmp_path / "still.mp4")
    with running_daemon(api_config(tmp_path / "state", clip)) as run:
        wait = _login(browser, run.url, OPERATOR)
        wait.until(
            ec.text_to_be_present_in_element(
                (By.CSS_SELECTOR, "#cameras tr[data-camera=cam]"), "cam"
            )
        )
        event = make_event()
        run.inject(event)  # after the page connected: it can only come through the live stream
        item = (By.CSS_SELECTOR, f'li.alert[data-id="{event.id}"]')
        wait.until(ec.presence_of_element_located(item)).click()
        wait.until(ec.visibility_of_element_located((By.ID, "detail")))
        assert "intrusion" in browser.find_element(By.ID, "detail-title").text
        assert "from the evidence" in browser.find_element(By.ID, "snapshot-note").text
        browser.find_element(By.ID, "note").send_keys("checked on camera 2")
        browser.find_element(By.ID, "confirm").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "review-result"), "confirmed"))
        with run.client(VIEWER) as http:
            shown = http.get(f"/api/events/{event.id}").json()
        assert (shown["review"], shown["review_note"]) == ("confirmed", "checked on camera 2")
        assert browser.find_element(*item).get_attribute("data-review") == "confirmed"
        # The page drew the box on the canvas: red pixels where the evidence box is.
        red = browser.execute_script(
            "const c = document.getElementById('evidence');"
            "const d = c.getContext('2d').getImageData(Math.round(0.55 * c.width), "
            "Math.round(0.7 * c.height), 1, 1).data; return [d[0], d[1], d[2]];"
        )
        assert red[0] > 200
        assert red[1] < 100


def test_a_false_alarm_and_its_cause_in_one_click(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    clip = still_clip(tmp_path / "still.mp4")
    with running_daemon(api_config(tmp_path / "state", clip)) as run:
        event = make_event()
        run.inject(event)
        wait = _login(browser, run.url, OPERATOR)
        item = (By.CSS_SELECTOR, f'li.alert[data-id="{event.id}"]')
        wait.until(ec.presence_of_element_located(item)).click()
        wait.until(ec.visibility_of_element_located((By.ID, "detail")))
        causes = browser.find_elements(By.CSS_SELECTOR, "button[data-cause]")
        assert [b.get_attribute("data-cause") for b in causes] == list(CAUSES)
        browser.find_element(By.CSS_SELECTOR, 'button[data-cause="animal"]').click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "review-result"), "animal"))
        with run.client(VIEWER) as http:
            shown = http.get(f"/api/events/{event.id}").json()
        assert (shown["review"], shown["review_cause"]) == ("false_alarm", "animal")
        assert browser.find_element(*item).get_attribute("data-review") == "false_alarm"
        assert "animal" in browser.find_element(By.ID, "detail-fields").text
        browser.find_element(By.ID, "unclear").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "review-result"), "unclear"))
        with run.client(VIEWER) as http:
            shown = http.get(f"/api/events/{event.id}").json()
        assert (shown["review"], shown["review_cause"]) == ("unclear", None)


def test_a_viewer_cannot_review_from_the_page(browser: webdriver.Chrome, tmp_path: Path) -> None:
    clip = still_clip(tmp_path / "still.mp4")
    with running_daemon(api_config(tmp_path / "state", clip)) as run:
        history = [make_event() for _ in range(3)]
        run.inject(*history)
        wait = _login(browser, run.url, VIEWER)
        event = make_event()
        run.inject(event)
        item = (By.CSS_SELECTOR, f'li.alert[data-id="{event.id}"]')
        wait.until(ec.presence_of_element_located(item)).click()
        wait.until(ec.visibility_of_element_located((By.ID, "detail")))
        assert not browser.find_element(By.ID, "confirm").is_displayed()
        assert not browser.find_element(By.ID, "unclear").is_displayed()
        assert not browser.find_element(By.CSS_SELECTOR, "button[data-cause]").is_displayed()
        assert "operator token" in browser.find_element(By.ID, "viewer-note").text
        shown = [
            li.get_attribute("data-id") for li in browser.find_elements(By.CSS_SELECTOR, "li.alert")
        ]
        assert shown == [e.id for e in reversed([*history, event])]  # newest first
        with run.client(VIEWER) as http:
            assert http.get(f"/api/events/{event.id}").json()["review"] == "pending"
