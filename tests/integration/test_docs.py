"""/openapi.json and /docs: the API description and the page that renders it
with Swagger UI, served as static files by the shipped nginx snippet (and
lighttpd config) from what `make` builds.

Over plain HTTP first: the document is docs/openapi.json byte for byte, the
page and its assets come with the security headers and a Content-Security-
Policy that admits this origin only.  Then in a browser: Debian's chromium,
headless, driven by chromium-driver through python3-selenium, opens /docs,
finds every documented operation listed, runs "Try it out" on GET /healthz
and sees the live 200 envelope, without one Content-Security-Policy
violation.  The browser part runs in the sanitizer pass too (its requests
reach the sanitized gerbang-health like any other).  Without chromium,
chromium-driver or python3-selenium it is skipped, or fails when CI is set
(scripts/dev installs all three).
"""
import json
import os
import pathlib
import re
import shutil
import tempfile
import time
from html.parser import HTMLParser

import pytest

from conftest import envelope_error, free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC_BYTES = (ROOT / "docs" / "openapi.json").read_bytes()
DOC = json.loads(DOC_BYTES)
UI = ROOT / "docs" / "ui"
PAGE_BYTES = (UI / "index.html").read_bytes()
# Swagger UI files the page needs, as `make` copies them from docs/ui/node_modules.
SWAGGER_UI = ("swagger-ui-bundle.js", "swagger-ui.css")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}

WAIT_S = 30          # the longest any one browser step may take


def operations():
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def csp_directives(value):
    """{directive: [sources]} of a Content-Security-Policy header."""
    out = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            assert words[0] not in out, f"directive {words[0]} twice"
            out[words[0]] = words[1:]
    return out


def assert_this_origin_only(csp):
    d = csp_directives(csp)
    assert d["default-src"] == ["'none'"], d
    for name in ("script-src", "style-src", "connect-src"):
        assert d[name] == ["'self'"], (name, d)
    assert set(d["img-src"]) <= {"'self'", "data:"}, d
    assert d["frame-ancestors"] == ["'none'"], d
    assert d["base-uri"] == ["'none'"], d
    assert "form-action" in d, d
    assert not re.search(r"unsafe-|https?:|\*", csp), csp


class Assets(HTMLParser):
    """The URLs of the scripts, stylesheets and icons a page loads."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            assert "src" in a, "an inline script: the CSP would block it"
            self.urls.append(a["src"])
        elif tag == "link":
            self.urls.append(a["href"])
        elif tag == "style" or "style" in a:
            raise AssertionError("inline style in the page: the CSP would block it")


def page_assets():
    p = Assets()
    p.feed(PAGE_BYTES.decode())
    return p.urls


def built_asset(stack, name):
    """A Swagger UI file as the build has it (or a tarball's source tree)."""
    for d in (stack.build / "docs" / "ui" / "swagger-ui", UI / "swagger-ui"):
        if (d / name).is_file():
            return (d / name).read_bytes()
    raise AssertionError(f"{name} is in neither the build nor the source tree: run make")


def assert_static_headers(r, https=False):
    assert r.header("x-content-type-options") == "nosniff", r.headers
    assert r.header("referrer-policy") == "no-referrer", r.headers
    assert r.header("cache-control") == "no-cache", r.headers
    if https:
        assert r.header("strict-transport-security").startswith("max-age="), r.headers
    else:
        assert r.header("strict-transport-security") is None, r.headers


# ---- the files themselves --------------------------------------------------------------

def test_swagger_ui_is_pinned_with_an_integrity_hash():
    want = json.loads((UI / "package.json").read_text())["dependencies"]["swagger-ui-dist"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", want), f"not one exact version: {want}"
    lock = json.loads((UI / "package-lock.json").read_text())
    entry = lock["packages"]["node_modules/swagger-ui-dist"]
    assert entry["version"] == want
    assert entry["integrity"].startswith("sha512-")
    assert lock["packages"][""]["dependencies"]["swagger-ui-dist"] == want
    for name, pkg in lock["packages"].items():
        if name:
            assert pkg.get("integrity", "").startswith("sha512-"), name
    installed = UI / "node_modules" / "swagger-ui-dist" / "package.json"
    if installed.is_file():
        assert json.loads(installed.read_text())["version"] == want, "run: npm ci in docs/ui"


def test_the_page_loads_from_this_origin_only():
    urls = page_assets()
    assert "/docs/gerbang-docs.js" in urls
    for f in SWAGGER_UI:
        assert f"/docs/{f}" in urls
    for u in urls:
        assert u.startswith("/docs/") or u.startswith("data:"), u
    assert b'url: "/openapi.json"' in (UI / "gerbang-docs.js").read_bytes()


# ---- over HTTP, through nginx ----------------------------------------------------------

@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_openapi_json(stack, https):
    r = stack.get("/openapi.json", https=https)
    assert r.status == 200, r
    assert r.header("content-type") == "application/json"
    assert r.body == DOC_BYTES
    assert re.fullmatch(r"[0-9a-f]{32}", r.header("x-request-id"))
    assert_static_headers(r, https)


@pytest.mark.parametrize("path", ["/docs", "/docs/", "/docs/index.html"])
def test_docs_page(stack, path):
    r = stack.get(path)
    assert r.status == 200, r
    assert r.header("content-type") == "text/html; charset=utf-8"
    assert r.body == PAGE_BYTES
    assert_this_origin_only(r.header("content-security-policy"))
    assert_static_headers(r)
    r = stack.get(path, https=True)
    assert r.status == 200 and r.body == PAGE_BYTES, r
    assert_static_headers(r, https=True)


def test_docs_assets(stack):
    for url in page_assets():
        if url.startswith("data:"):
            continue
        r = stack.get(url)
        assert r.status == 200, (url, r)
        ext = pathlib.PurePosixPath(url).suffix
        assert r.header("content-type").split(";")[0] == ASSET_TYPES[ext], (url, r.headers)
        assert_static_headers(r)
        name = url.rsplit("/", 1)[1]
        want = built_asset(stack, name) if name in SWAGGER_UI else (UI / name).read_bytes()
        assert r.body == want, url


def test_docs_errors_are_envelopes(stack):
    envelope_error(stack.get("/docs/nosuch.js"), 404)
    envelope_error(stack.get("/docsx"), 404)
    # Above the root: refused before any location is chosen.
    envelope_error(stack.get("/docs/../../etc/passwd"), 400)
    envelope_error(stack.get("/docs/%2e%2e/%2e%2e/etc/passwd"), 400)
    envelope_error(stack.request("POST", "/docs", body=b""), 405)
    envelope_error(stack.request("POST", "/openapi.json", body=b""), 405)


# ---- over HTTP, through lighttpd -------------------------------------------------------

@pytest.fixture(scope="module")
def lighttpd(stack):
    port = free_port()
    stack.ctl("lighttpd-start", "--build", stack.build, "--http-port", port)
    yield port
    stack.ctl("lighttpd-stop")


def test_through_lighttpd(stack, lighttpd):
    r = stack.get("/openapi.json", port=lighttpd)
    assert r.status == 200, r
    assert r.header("content-type") == "application/json"
    assert r.body == DOC_BYTES
    assert_static_headers(r)
    for path in ("/docs", "/docs/"):
        r = stack.get(path, port=lighttpd)
        assert r.status == 200, (path, r)
        assert r.header("content-type") == "text/html; charset=utf-8"
        assert r.body == PAGE_BYTES
        assert_this_origin_only(r.header("content-security-policy"))
        assert_static_headers(r)
    for name in SWAGGER_UI:
        r = stack.get(f"/docs/{name}", port=lighttpd)
        assert r.status == 200, (name, r)
        assert r.body == built_asset(stack, name)
        assert r.header("content-type").split(";")[0] == ASSET_TYPES[pathlib.PurePosixPath(name).suffix]
    assert stack.get("/docs/nosuch.js", port=lighttpd).status == 404


# ---- in a browser ----------------------------------------------------------------------

def unavailable(why):
    if os.environ.get("CI"):
        pytest.fail(f"{why} (scripts/dev installs it)")
    pytest.skip(f"{why} (scripts/dev installs it)")


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("python3-selenium is not installed")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    for f, pkg in ((chromium, "chromium"), (driver, "chromium-driver")):
        if not os.access(f, os.X_OK):
            unavailable(f"{pkg} is not installed")
    profile = tempfile.mkdtemp(prefix="gerbang-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1280,2000", "--no-first-run",
                "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions"):
        opts.add_argument(arg)
    # Chromium's sandbox refuses to run as root; as anyone else it stays on.
    if os.geteuid() == 0:
        opts.add_argument("--no-sandbox")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The sanitizer pass's settings are for our programs, not the browser.
    env = {k: v for k, v in os.environ.items() if not k.endswith("SAN_OPTIONS")}
    log = os.path.join(profile, "chromedriver.log")
    try:
        d = webdriver.Chrome(service=Service(driver, log_path=log, env=env), options=opts)
    except Exception as e:
        tail = pathlib.Path(log).read_text(errors="replace")[-2000:] if os.path.exists(log) else ""
        shutil.rmtree(profile, ignore_errors=True)
        pytest.fail(f"chromium did not start: {e}\n{tail}")
    d.set_page_load_timeout(WAIT_S)
    d.set_script_timeout(WAIT_S)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(d, what, predicate, seconds=WAIT_S):
    """predicate(d)'s first truthy value, polled every 0.1 s; fails after
    seconds with what was awaited."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    deadline = time.monotonic() + seconds
    while True:
        try:
            v = predicate(d)
            if v:
                return v
        except (StaleElementReferenceException, WebDriverException):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds}s: {what}")
        time.sleep(0.1)


def console_problems(d):
    """Console messages of the page that are errors or CSP violations."""
    return [e for e in d.get_log("browser")
            if e["level"] == "SEVERE" or "Content Security Policy" in e["message"]]


@pytest.fixture(scope="module")
def docs_page(stack, browser):
    from selenium.webdriver.common.by import By
    browser.get(f"http://127.0.0.1:{stack.http_port}/docs")
    n = sum(1 for _ in operations())
    wait(browser, f"{n} operations rendered",
         lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= n)
    return browser


def test_browser_lists_every_operation(docs_page):
    from selenium.webdriver.common.by import By
    d = docs_page
    assert "gerbang" in d.find_element(By.CSS_SELECTOR, ".information-container .title").text
    listed = set()
    for block in d.find_elements(By.CSS_SELECTOR, ".opblock"):
        method = block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text
        path = block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path")
        listed.add((method.lower(), path))
    assert listed == {(m, p) for p, m, _ in operations()}
    # Each under its tag and operationId, with its summary.
    for path, method, op in operations():
        block = d.find_element(By.ID, f"operations-{op['tags'][0]}-{op['operationId']}")
        text = block.find_element(By.CSS_SELECTOR, ".opblock-summary-description").text
        assert text == op["summary"], (method, path)
    assert console_problems(d) == []


def test_browser_try_it_out_on_healthz(docs_page):
    from selenium.webdriver.common.by import By
    d = docs_page
    block = d.find_element(By.ID, "operations-health-getHealthz")
    block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait(d, '"Try it out" shown',
         lambda _: block.find_element(By.CSS_SELECTOR, "button.try-out__btn")).click()
    wait(d, '"Execute" shown',
         lambda _: block.find_element(By.CSS_SELECTOR, "button.execute")).click()
    status = wait(d, "the live response's status", lambda _: block.find_element(
        By.CSS_SELECTOR, ".live-responses-table tr.response td.response-col_status").text)
    assert status.strip() == "200"
    shown = block.find_element(
        By.CSS_SELECTOR, ".live-responses-table tr.response td.response-col_description pre").text
    body = json.loads(shown)
    assert body["ok"] is True, body
    assert body["message"] == "alive"
    assert body["data"]["status"] == "ok"
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", body["request_id"])
    assert console_problems(d) == []


def test_browser_enforces_the_csp(docs_page):
    """The policy is in force: an inline script the page did not ship is
    refused and reported."""
    d = docs_page
    seen = d.execute_script("""
        window.__gerbangInline = false;
        window.__gerbangViolations = [];
        document.addEventListener("securitypolicyviolation",
            function (e) { window.__gerbangViolations.push(e.violatedDirective); });
        var s = document.createElement("script");
        s.textContent = "window.__gerbangInline = true;";
        document.body.appendChild(s);
        return window.__gerbangInline;""")
    assert seen is False
    violated = wait(d, "the violation event", lambda _: d.execute_script(
        "return window.__gerbangViolations;"), seconds=5)
    assert violated[0].startswith("script-src"), violated
