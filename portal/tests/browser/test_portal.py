"""lic-portal in a real browser: headless Chromium (Debian's) driven by
Selenium, against lic-portal and lic-devserver processes on loopback.

The QR codes are lic's own (the Python binding over liblic). One reaches the
page through Chromium's fake camera (a Y4M made from lic's PNG), others as an
uploaded PNG or SVG, as the URL a phone's camera app opens, and as pasted
text. The activation succeeds against the devserver, the machine file is
downloaded, and a lic client with no network loads it and validates VALID.
Every outcome page is saved as a screenshot in target/portal-screenshots/
(or $LIC_SCREENSHOTS) for a reviewer.

Run with portal/tests/browser/run.sh, which installs what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
SHOTS = Path(os.environ.get("LIC_SCREENSHOTS", ROOT / "target" / "portal-screenshots"))
os.environ.setdefault("LIC_LIBRARY", str(TARGET / "liblic.so"))
sys.path.insert(0, str(ROOT / "bindings" / "python"))
sys.path.insert(0, str(HERE))

import lic  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from y4m import png_to_y4m, read_png  # noqa: E402

APP = "Acme CAD"
WAIT = 30  # seconds: generous, the machine is shared


def fp() -> str:
    """A fingerprint as lic computes one: 64 hex characters."""
    return os.urandom(32).hex()


def spawn_json(args: list, log: Path) -> Tuple[subprocess.Popen, Dict[str, Any]]:
    """Starts a process whose first stdout line is a JSON object."""
    err = open(log, "wb")
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err)
    assert p.stdout is not None
    line = p.stdout.readline()
    if not line:
        p.wait(timeout=10)
        raise RuntimeError(f"{args[0]} printed nothing; see {log}")
    return p, json.loads(line)


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class Admin:
    """The devserver's Keygen admin API (Bearer admin token)."""

    def __init__(self, info: Dict[str, Any]) -> None:
        self.info = info

    def request(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        req = urllib.request.Request(
            self.info["base_url"] + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={
                "Authorization": f"Bearer {self.info['admin_token']}",
                "Content-Type": "application/vnd.api+json",
                "Accept": "application/vnd.api+json",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw, status = r.read(), r.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        return status, (json.loads(raw) if raw else None)

    def expect(self, method: str, path: str, body: Any, status: int) -> Any:
        got, value = self.request(method, path, body)
        assert got == status, f"{method} {path}: {got} {value}"
        return value

    def policy(self, **attrs: Any) -> str:
        a = {"name": "policy", "authenticationStrategy": "LICENSE", "strict": True, **attrs}
        rel = {"product": {"data": {"type": "products", "id": self.info["product_id"]}}}
        body = {"data": {"type": "policies", "attributes": a, "relationships": rel}}
        return self.expect("POST", "/v1/policies", body, 201)["data"]["id"]

    def license(self, policy: str, **attrs: Any) -> Tuple[str, str]:
        rel = {"policy": {"data": {"type": "policies", "id": policy}}}
        body = {"data": {"type": "licenses", "attributes": attrs, "relationships": rel}}
        v = self.expect("POST", "/v1/licenses", body, 201)["data"]
        return v["id"], v["attributes"]["key"]

    def machine(self, license_id: str, fingerprint: str) -> None:
        rel = {"license": {"data": {"type": "licenses", "id": license_id}}}
        body = {"data": {"type": "machines", "attributes": {"fingerprint": fingerprint}, "relationships": rel}}
        self.expect("POST", "/v1/machines", body, 201)

    def suspend(self, license_id: str) -> None:
        self.expect("POST", f"/v1/licenses/{license_id}/actions/suspend", None, 200)


class World:
    """The devserver, the portal, and lic clients for the air-gapped machines."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.server, self.info = spawn_json([str(TARGET / "lic-devserver"), "--bootstrap"], tmp / "devserver.log")
        self.admin = Admin(self.info)
        self.log = tmp / "portal-requests.log"
        self.portal, portal_info = spawn_json(
            [
                str(TARGET / "lic-portal"),
                "--port", "0",
                "--api-url", self.info["base_url"],
                "--account-id", self.info["account_id"],
                "--public-key", self.info["public_key"],
                "--log", str(self.log),
            ],
            tmp / "portal.stderr",
        )
        self.url: str = portal_info["url"]
        self.clients = []

    def device(self, key: str, fingerprint: str) -> "lic.Client":
        """The air-gapped machine: its lic client has no server it can reach."""
        c = lic.Client(
            account_id=self.info["account_id"],
            public_key=self.info["public_key"],
            license_key=key,
            fingerprint=fingerprint,
            api_url="http://127.0.0.1:9",
            cache_dir=self.tmp / "device" / fingerprint,
            timeout_ms=2000,
        )
        self.clients.append(c)
        return c

    def request(self, key: str, fingerprint: str, portal: bool = True) -> "lic.ActivationRequest":
        return self.device(key, fingerprint).activation_request(
            portal_url=self.url if portal else None, app_name=APP
        )

    def close(self) -> None:
        for c in self.clients:
            c.close()
        stop(self.portal)
        stop(self.server)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    tmp = Path(tempfile.mkdtemp(prefix="lic-portal-browser-"))
    w = World(tmp)
    yield w
    w.close()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def camera_request(world: World) -> Dict[str, Any]:
    """A node-locked license and the QR code its machine shows, as the fake camera's video."""
    lic_id, key = world.admin.license(world.admin.policy(floating=False, maxMachines=1))
    fingerprint = fp()
    req = world.request(key, fingerprint)
    png = world.tmp / "camera.png"
    png.write_bytes(req.png)
    y4m = world.tmp / "camera.y4m"
    png_to_y4m(req.png, y4m)
    return {"license_id": lic_id, "key": key, "fingerprint": fingerprint, "request": req, "y4m": y4m, "png": png}


@pytest.fixture(scope="module")
def browser(world: World, camera_request: Dict[str, Any]) -> Iterator[Any]:
    downloads = world.tmp / "downloads"
    downloads.mkdir()
    o = webdriver.ChromeOptions()
    o.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={world.tmp / 'chromium-profile'}",
        "--window-size=960,1100",
        # The camera: a fake device playing lic's QR code, permission granted.
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={camera_request['y4m']}",
    ]:
        o.add_argument(arg)
    o.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    d = webdriver.Chrome(options=o, service=service)
    d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    d.downloads = downloads  # type: ignore[attr-defined]
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield d
    d.quit()


def wait(d: Any, cond: Any) -> Any:
    return WebDriverWait(d, WAIT).until(cond)


def visible(d: Any, id_: str) -> Any:
    return wait(d, EC.visibility_of_element_located((By.ID, id_)))


def shot(d: Any, name: str) -> Path:
    """A full-page screenshot (the page's own height) into the screenshots folder."""
    height = d.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    d.set_window_size(960, max(700, min(int(height) + 140, 2400)))
    path = SHOTS / f"{name}.png"
    d.save_screenshot(str(path))
    d.set_window_size(960, 1100)
    return path


def start(d: Any, world: World) -> None:
    d.get(world.url)
    visible(d, "scan")


def confirm_and_activate(d: Any, expect: str) -> Any:
    """From the confirmation card: activate, wait for the outcome page."""
    visible(d, "confirm")
    d.find_element(By.ID, "activate").click()
    result = visible(d, "result")
    wait(d, lambda _: result.get_attribute("data-outcome") not in (None, ""))
    got = result.get_attribute("data-outcome")
    assert got == expect, f"{got}: {d.find_element(By.ID, 'result-title').text} / {d.find_element(By.ID, 'result-message').text}"
    return result


def upload(d: Any, path: Path) -> None:
    d.find_element(By.ID, "upload").send_keys(str(path))


def paste(d: Any, text: str) -> None:
    box = d.find_element(By.ID, "paste")
    box.clear()
    # Set the value directly (typing 300 characters is slow), as a paste does.
    d.execute_script("arguments[0].value = arguments[1];", box, text)
    d.find_element(By.ID, "paste-go").click()


def download(d: Any) -> Path:
    link = visible(d, "download")
    name = link.get_attribute("download")
    assert name and name.endswith(".lic"), name
    target = d.downloads / name
    if target.exists():
        target.unlink()
    link.click()
    deadline = time.time() + WAIT
    while time.time() < deadline:
        if target.exists() and not list(d.downloads.glob("*.crdownload")) and target.stat().st_size > 0:
            return target
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded into {d.downloads}: {list(d.downloads.iterdir())}")


def validates_offline(world: World, key: str, fingerprint: str, path: Path) -> None:
    """The air-gapped machine: loads the file by hand and validates with no network."""
    c = world.device(key, fingerprint)
    c.load_file(str(path))
    r = c.validate(offline_only=True)
    assert (r.code, r.valid, r.source) == (lic.Code.VALID, True, lic.Source.LOADED_FILE), (r.code, r.detail)
    assert r.fingerprint == fingerprint


def test_y4m_frames_hold_the_png() -> None:
    c = lic.Client(account_id="a", license_key="K", fingerprint="f", api_url="http://127.0.0.1:9")
    png = c.activation_request().png
    c.close()
    w, h, rows = read_png(png)
    assert w == h and rows[0][0] == 255  # the quiet zone is white
    dark = sum(v == 0 for row in rows for v in row)
    assert 0.2 < dark / (w * h) < 0.6
    with tempfile.TemporaryDirectory() as t:
        out = Path(t) / "x.y4m"
        png_to_y4m(png, out, frames=1)
        data = out.read_bytes()
        header, rest = data.split(b"\n", 1)
        assert header == b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg"
        assert rest.startswith(b"FRAME\n") and len(rest) == 6 + 640 * 480 * 3 // 2


def test_camera_scan_activates_and_the_file_validates_offline(browser: Any, world: World, camera_request: Dict[str, Any]) -> None:
    d = browser
    start(d, world)
    shot(d, "01-start")
    d.find_element(By.ID, "scan").click()
    # The fake camera shows lic's QR code; the page reads it and asks to confirm.
    visible(d, "confirm")
    summary = d.find_element(By.ID, "summary").text
    assert APP in summary and camera_request["fingerprint"][:8] in summary, summary
    assert camera_request["key"] not in d.page_source
    assert camera_request["key"][:4] in summary  # the hint only
    shot(d, "02-confirm")
    result = confirm_and_activate(d, "activated")
    assert result.get_attribute("data-tone") == "good"
    shot(d, "03-activated")
    path = download(d)
    assert path.read_text().startswith("-----BEGIN MACHINE FILE-----")
    validates_offline(world, camera_request["key"], camera_request["fingerprint"], path)
    # The same page on a phone-sized screen.
    d.set_window_size(390, 1000)
    (SHOTS / "03-activated-phone.png").write_bytes(d.get_screenshot_as_png())
    d.set_window_size(960, 1100)


def test_uploaded_picture_of_an_activated_machine_gets_a_fresh_file(browser: Any, world: World, camera_request: Dict[str, Any]) -> None:
    d = browser
    start(d, world)
    upload(d, camera_request["png"])
    confirm_and_activate(d, "already_activated")
    shot(d, "04-already-activated")
    path = download(d)
    validates_offline(world, camera_request["key"], camera_request["fingerprint"], path)


def test_phone_camera_link_for_a_license_locked_elsewhere(browser: Any, world: World, camera_request: Dict[str, Any]) -> None:
    d = browser
    other = world.request(camera_request["key"], fp())
    assert other.text.startswith(world.url + "#lic1.")
    # What a phone's camera app does with the QR code: open the URL.
    d.get(other.text)
    visible(d, "confirm")
    assert "#" not in d.current_url, "the request is cleared from the address bar"
    result = confirm_and_activate(d, "locked_elsewhere")
    assert result.get_attribute("data-tone") == "warn"
    assert not d.find_element(By.ID, "file-box").is_displayed()
    shot(d, "05-locked-elsewhere")


def test_uploaded_svg_when_the_machine_limit_is_reached(browser: Any, world: World) -> None:
    d = browser
    lic_id, key = world.admin.license(world.admin.policy(floating=True, maxMachines=2))
    world.admin.machine(lic_id, fp())
    world.admin.machine(lic_id, fp())
    svg = world.tmp / "limit.svg"
    svg.write_text(world.request(key, fp()).svg)
    start(d, world)
    upload(d, svg)
    confirm_and_activate(d, "machine_limit")
    assert "allows 2 machines" in d.find_element(By.ID, "result-message").text
    shot(d, "06-machine-limit")


@pytest.mark.parametrize(
    "name, expect, make",
    [
        ("07-suspended", "suspended", "suspended"),
        ("08-expired", "expired", "expired"),
        ("09-unknown-key", "unknown_key", "unknown"),
        ("10-not-allowed", "not_allowed", "token_only"),
    ],
)
def test_pasted_text_for_every_refusal(browser: Any, world: World, name: str, expect: str, make: str) -> None:
    d = browser
    a = world.admin
    if make == "suspended":
        lic_id, key = a.license(a.policy(floating=False, maxMachines=1))
        a.suspend(lic_id)
    elif make == "expired":
        _, key = a.license(
            a.policy(floating=False, maxMachines=1, expirationStrategy="REVOKE_ACCESS"),
            expiry="2025-06-30T12:00:00Z",
        )
    elif make == "unknown":
        key = "TYPO-8A4D9E-5F6071-2C3D4E-9A8B7C-V3"
    else:
        _, key = a.license(a.policy(floating=False, maxMachines=1, authenticationStrategy="TOKEN"))
    # The bare text, as copied from under the code on the machine's screen.
    text = world.request(key, fp(), portal=False).text
    assert text.startswith("lic1.")
    start(d, world)
    paste(d, text)
    confirm_and_activate(d, expect)
    assert not d.find_element(By.ID, "file-box").is_displayed()
    if expect == "expired":
        assert "2025-06-30" in d.find_element(By.ID, "result-message").text
    if expect == "not_allowed":
        assert "LICENSE or MIXED" in d.find_element(By.ID, "result-message").text
    # What support would see, opened for the screenshot.
    d.find_element(By.CSS_SELECTOR, "#detail-box summary").click()
    detail = visible(d, "result-detail").text
    assert detail and key not in detail, detail
    shot(d, name)


def test_text_that_is_not_a_request_is_refused_before_anything_happens(browser: Any, world: World) -> None:
    d = browser
    start(d, world)
    paste(d, "lic1.this-is-not-it")
    error = visible(d, "read-error")
    assert "not an activation code" in error.text, error.text
    assert d.find_element(By.ID, "start").is_displayed()
    shot(d, "11-not-a-request")


def test_the_request_log_holds_no_key(browser: Any, world: World, camera_request: Dict[str, Any]) -> None:
    log = world.log.read_text()
    lines = [json.loads(line) for line in log.splitlines()]
    outcomes = {line.get("outcome") for line in lines}
    assert {"activated", "already_activated", "locked_elsewhere", "machine_limit"} <= outcomes, outcomes
    assert camera_request["key"] not in log
    assert "lic1." not in log and "MACHINE FILE" not in log
