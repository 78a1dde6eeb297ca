"""Headless Chromium for the tests: Debian's ``chromium`` and its driver, through selenium.

Nothing is downloaded: the browser and driver are the system's (``.ci/run`` installs
them with apt-get); without them the tests that need a browser skip and say why.
Screenshots go to ``test-artifacts/`` (``CROPKIT_TEST_ARTIFACTS`` to move it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Counts what a page shows: plots (bokeh roots holding a canvas, however deep in shadow
#: roots), empty plot roots, tables; in each map frame, whether Leaflet ran and drew.
PAGE_CONTENT = """
function canvases(node) {
  let n = 0;
  for (const el of node.querySelectorAll('*')) {
    if (el.tagName === 'CANVAS') n += 1;
    if (el.shadowRoot) n += canvases(el.shadowRoot);
  }
  return n;
}
const all = [...document.querySelectorAll('[data-root-id]')];
const roots = all.filter(r => r.children.length);
return {
  plots: roots.filter(r => canvases(r) > 0).length,
  blank_plots: roots.filter(r => canvases(r) === 0).length,
  empty_roots: all.length - roots.length,
  tables: document.querySelectorAll('table').length,
  images: [...document.images].filter(i => i.naturalWidth > 0).length,
  broken_images: [...document.images].filter(i => i.complete && !i.naturalWidth).length,
  frames: document.querySelectorAll('iframe').length,
};
"""
MAP_CONTENT = """
return {
  leaflet: typeof L !== 'undefined',
  maps: document.querySelectorAll('.leaflet-container').length,
  shapes: document.querySelectorAll('path.leaflet-interactive').length,
  overlays: document.querySelectorAll('img.leaflet-image-layer').length,
};
"""


def artifacts() -> Path:
    """The folder of test artifacts (screenshots), created."""
    folder = Path(os.environ.get("CROPKIT_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def find_chromium() -> tuple[str, str] | str:
    """``(browser, driver)`` paths, or the reason there are none."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        return (
            "no Chromium and chromedriver on this machine (Debian: apt-get install chromium "
            "chromium-driver; .ci/run installs them)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return browser, driver


@contextlib.contextmanager
def chromium(offline: bool = True, block_hosts: bool = False) -> Iterator:
    """A headless Chromium (a selenium driver), quit at the end.

    Parameters
    ----------
    offline : bool
        Cut the page off any network (DevTools' offline emulation): file:// pages only.
    block_hosts : bool
        Resolve no host name but localhost and 127.0.0.1 (a page served here, with
        the internet cut off).
    """
    found = find_chromium()
    if isinstance(found, str):
        pytest.skip(found)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--no-first-run",
        "--disable-background-networking",
    ):
        options.add_argument(arg)
    if block_hosts:
        options.add_argument(
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"
        )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        if offline:
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd(
                "Network.emulateNetworkConditions",
                {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
            )
        yield driver
    finally:
        driver.quit()


def console_errors(driver) -> list[str]:
    """The page's console messages of level SEVERE since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def page_content(driver, settle: float = 0.0) -> dict:
    """What the page shows (:data:`PAGE_CONTENT`), with ``maps``: one dict per map frame.

    Parameters
    ----------
    settle : float
        Seconds to wait at most for the plots to settle (BokehJS draws after the page
        has loaded): until the counts stay the same for a second.
    """
    import time

    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + settle
    content = driver.execute_script(PAGE_CONTENT)
    stable_since = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - stable_since < 1.0:
        time.sleep(0.2)
        now = driver.execute_script(PAGE_CONTENT)
        if now != content:
            content, stable_since = now, time.monotonic()
    maps = []
    for frame in driver.find_elements(By.TAG_NAME, "iframe"):
        driver.switch_to.frame(frame)
        try:
            maps.append(driver.execute_script(MAP_CONTENT))
        finally:
            driver.switch_to.default_content()
    content["maps"] = [m for m in maps if m["maps"]]
    return content


#: For each plot output with a slider: its largest canvas (the image) and the slider's
#: handle (Panel's noUiSlider), looked for through the shadow roots, in page order.
SLIDERS = """
function deep(node, out) {
  for (const el of node.querySelectorAll('*')) {
    out.push(el);
    if (el.shadowRoot) deep(el.shadowRoot, out);
  }
  return out;
}
const found = [];
for (const root of document.querySelectorAll('[data-root-id]')) {
  const inside = deep(root, []);
  const handle = inside.find(e => String(e.className).includes('noUi-handle'));
  const canvases = inside.filter(e => e.tagName === 'CANVAS');
  if (!handle || !canvases.length) continue;
  const area = c => c.getBoundingClientRect().width * c.getBoundingClientRect().height;
  found.push([canvases.reduce((a, b) => (area(b) > area(a) ? b : a)), handle]);
}
return found;
"""


def sliders(driver) -> list:
    """``[(canvas, handle), ...]``: each slider's plot image and its handle, in page order."""
    return driver.execute_script(SLIDERS)


def pixels(driver, element):
    """An element's pixels as an ``(h, w, 3)`` int array (from a screenshot of it)."""
    import io

    import numpy as np
    from PIL import Image

    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    return np.asarray(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB")).astype(int)
