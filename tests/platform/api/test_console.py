"""The web console in a real headless Chromium against a real uvicorn gateway.

Sign in with a key, start a run with the scripted crew, watch its steps arrive live, answer its
gate, see it finish, open a decision record; a viewer sees no buttons, another tenant sees no
run, and a task written as HTML stays text. Every page's screenshot is kept under the test's
temporary folder and checked for a rendering that is not blank.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import matplotlib.image
import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from hybridcrew.platform.keys import create_key
from hybridcrew.platform.store.sqlite import SqliteStore
from tests.support.browser import chromium
from tests.support.crew import crew_config
from tests.support.gateway import gateway

TASK = "Add rate limiting to the orders API"
XSS = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>"


class Console:
    """One browser on the console, with the screenshots it took."""

    def __init__(self, driver: WebDriver, base: str, shots: Path) -> None:
        self.driver, self.base, self.shots = driver, base, shots

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def sign_in(self, key: str) -> None:
        self.open("/ui/login")
        self.driver.find_element(By.NAME, "key").send_keys(key)
        self.driver.find_element(By.CSS_SELECTOR, "form.card button").click()
        self.until(lambda d: d.current_url.endswith("/ui"))

    def sign_out(self) -> None:
        self.driver.find_element(By.CSS_SELECTOR, "header form button").click()
        self.until(lambda d: "/ui/login" in d.current_url)

    def until(self, check: object, timeout: float = 30) -> None:
        WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(check)  # type: ignore[arg-type]

    def text(self, css: str) -> str:
        # Read in one script: the live part of a run's page is replaced as events arrive.
        return str(self.driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0]))"
            ".map(e => e.innerText).join(' ')", css))

    def shot(self, name: str) -> None:
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        pixels = matplotlib.image.imread(str(path))
        assert pixels.std() > 0.02, f"the {name} page rendered blank"


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "store.sqlite")


@pytest.fixture
def setup(tmp_path: Path, store: SqliteStore) -> Iterator[tuple[Console, dict[str, str], str]]:
    keys = {name: create_key(store, tenant, role)[1] for name, tenant, role in (
        ("admin", "acme", "admin"), ("viewer", "acme", "viewer"), ("stranger", "beta", "admin"))}
    shots = tmp_path / "screenshots"
    shots.mkdir()
    # Each model call takes 0.5 s: a run's steps arrive one after another while its page is open.
    with gateway(crew_config(latency=0.5), store=store) as base, \
            chromium(tmp_path / "profile") as driver:
        yield Console(driver, base, shots), keys, base


def test_a_run_is_started_watched_answered_and_inspected(
        setup: tuple[Console, dict[str, str], str], store: SqliteStore) -> None:
    ui, keys, base = setup
    ui.open("/ui")
    ui.until(lambda d: "/ui/login" in d.current_url)  # no session: sign in first
    ui.shot("login")
    ui.sign_in(keys["admin"])
    ui.driver.find_element(By.NAME, "task").send_keys(TASK)
    ui.driver.find_element(By.NAME, "approval").click()
    ui.driver.find_element(By.CSS_SELECTOR, "form.start button").click()
    ui.until(lambda d: "/ui/runs/" in d.current_url)
    rendered = len(ui.driver.find_elements(By.CSS_SELECTOR, "tr.step"))
    ui.driver.execute_script("window.sameDocument = true")  # gone if the page reloads
    # The page was rendered before the run reached its gate: steps and question arrive live.
    ui.until(lambda d: d.find_elements(By.CSS_SELECTOR, "section.question"))
    assert ui.driver.execute_script("return window.sameDocument") is True
    assert rendered < len(ui.driver.find_elements(By.CSS_SELECTOR, "tr.step"))
    assert "Approve" in ui.text("section.question")
    ui.shot("run-waiting")
    ui.driver.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    ui.until(lambda d: "finished" in ui.text("#status"))
    assert set(ui.text("tr.step td:nth-child(2)").split()) == {"cto", "frontend", "backend",
                                                               "qa"}
    ui.driver.find_element(By.CSS_SELECTOR, "tr.decision summary").click()
    assert "Chose" in ui.text("tr.decision details[open]")
    assert "app/limiter.py" in ui.text("ul.artifacts")
    ui.shot("run-finished")
    run_url = ui.driver.current_url
    # A repository run's patch.diff is shown as a diff (added, removed, hunk lines).
    folder = Path(store.get_run(run_url.rsplit("/", 1)[1]).folder)
    (folder / "patch.diff").write_text("@@ -1,2 +1,2 @@\n-old = 1\n+new = 2\n")
    ui.driver.refresh()
    assert ui.text("pre.diff span.add") == "+new = 2"
    assert ui.text("pre.diff span.del") == "-old = 1"
    ui.shot("run-patch")
    ui.open("/ui")
    assert TASK in ui.text("table.runs")
    ui.shot("runs")

    ui.sign_out()
    ui.sign_in(keys["viewer"])
    assert not ui.driver.find_elements(By.CSS_SELECTOR, "form.start")
    ui.driver.get(run_url)
    assert "finished" in ui.text("#status")
    ui.sign_out()
    ui.sign_in(keys["stranger"])
    assert TASK not in ui.text("table.runs")
    ui.driver.get(run_url)
    assert "finished" not in ui.text("body")
    # The session cookie is HttpOnly: the page's scripts cannot read the key.
    assert "hc_" not in str(ui.driver.execute_script("return document.cookie"))
    login = httpx.get(f"{base}/ui", follow_redirects=True)  # no cookie: the sign-in form
    assert (login.status_code, str(login.url).endswith("/ui/login")) == (200, True)


def test_forms_need_the_csrf_token_and_html_in_a_task_stays_text(
        setup: tuple[Console, dict[str, str], str]) -> None:
    ui, keys, base = setup
    ui.sign_in(keys["admin"])
    ui.driver.find_element(By.NAME, "task").send_keys(XSS)
    ui.driver.find_element(By.CSS_SELECTOR, "form.start button").click()
    ui.until(lambda d: "/ui/runs/" in d.current_url)
    ui.until(lambda d: "finished" in ui.text("#status"))
    assert XSS in ui.text("p.task")
    assert ui.driver.execute_script("return window.pwned") is None
    assert not ui.driver.find_elements(By.CSS_SELECTOR, "p.task img")
    ui.shot("xss")
    session = httpx.Client(base_url=base, cookies={"hc_session": keys["admin"]})
    page = session.get("/ui")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    forged = session.post("/ui/runs", data={"task": TASK})  # another site cannot add the token
    assert forged.status_code == 403
    assert "CSRF" in forged.json()["detail"]
    # The JSON API does not take the console's cookie for writes.
    assert session.post("/v1/runs", json={"task": TASK}).status_code == 401
    session.cookies.set("hc_csrf", page.cookies["hc_csrf"])
    ok = session.post("/ui/runs", data={"task": TASK, "csrf": token.group(1)},
                      follow_redirects=False)
    assert ok.status_code == 303


def test_a_form_posted_twice_starts_one_run(store: SqliteStore) -> None:
    key = create_key(store, "acme", "operator")[1]
    with gateway(crew_config(), store=store) as base:
        session = httpx.Client(base_url=base, cookies={"hc_session": key})
        form = session.get("/ui")
        fields = dict(re.findall(r'name="(csrf|submission)" value="([^"]+)"', form.text))
        session.cookies.set("hc_csrf", form.cookies["hc_csrf"])
        # The same form sent again (a double click, a resend) is one run; changed, a new one.
        posts = [session.post("/ui/runs", data={**fields, "task": task}, follow_redirects=False)
                 for task in (TASK, TASK, TASK + " and pagination")]
        shown_again = session.get("/ui").text
    assert f'value="{fields["submission"]}"' not in shown_again, "each form shown gets a token"
    locations = [p.headers["location"] for p in posts]
    assert locations[0] == locations[1] != locations[2]
    assert sorted(r.task for r in store.list_runs(tenant="acme")) == [
        TASK, TASK + " and pagination"]


def test_assignments_capacity_and_routing_pages(setup: tuple[Console, dict[str, str], str]
                                                ) -> None:
    ui, keys, base = setup
    ui.sign_in(keys["admin"])
    ui.open("/ui/agents")
    form = "#agent-backend form.assign"
    model = ui.driver.find_element(By.CSS_SELECTOR, f"{form} input[name=model]")
    model.clear()
    model.send_keys("no-such-model")
    ui.driver.find_element(By.CSS_SELECTOR, f"{form} button").click()
    ui.until(lambda d: d.find_elements(By.CSS_SELECTOR, "ul.problems"))
    # The API's own words for the problem, without echoing what was typed.
    assert "agents.backend.model: model" in ui.text("ul.problems")
    assert "does not exist" in ui.text("ul.problems")
    assert "no-such-model" not in ui.text("ul.problems")
    ui.shot("agents-refused")
    model = ui.driver.find_element(By.CSS_SELECTOR, f"{form} input[name=model]")
    model.clear()
    model.send_keys("planner")
    ui.driver.find_element(By.CSS_SELECTOR, f"{form} button").click()
    ui.until(lambda d: "Saved the assignment of backend" in ui.text("p.saved"))
    assert "Model: planner" in ui.text("#agent-backend")
    ui.shot("agents")
    ui.open("/ui/models")
    assert {"planner", "author", "reviewer"} <= set(ui.text("table.models td:first-child")
                                                    .split())
    assert "closed" in ui.text("table.models")
    ui.shot("models")
    ui.sign_out()
    ui.sign_in(keys["viewer"])
    ui.open("/ui/agents")
    assert not ui.driver.find_elements(By.CSS_SELECTOR, "form.assign")
    viewer = httpx.Client(base_url=base, cookies={"hc_session": keys["viewer"]})
    token = re.search(r'name="csrf" value="([^"]+)"', viewer.get("/ui/agents").text)
    assert token is not None
    refused = viewer.post("/ui/agents/backend", data={"csrf": token.group(1), "model": "author"})
    assert refused.status_code == 403
    assert "needs the admin role" in refused.json()["detail"]


def test_a_secret_in_a_task_is_never_rendered(setup: tuple[Console, dict[str, str], str]
                                              ) -> None:
    ui, keys, base = setup
    session = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys['admin']}"})
    secret = "AKIA2OGYBAH6TLPQ4RZC"
    run_id = session.post("/v1/runs", json={"task": f"Deploy with key {secret}"}).json()["id"]
    ui.sign_in(keys["admin"])
    ui.open(f"/ui/runs/{run_id}")
    ui.until(lambda d: "finished" in ui.text("#status"))
    for path in ("/ui", f"/ui/runs/{run_id}/live", f"/ui/runs/{run_id}"):
        ui.open(path)
        assert secret not in ui.driver.page_source, path
    assert ui.text("p.task") == "Deploy with key [REDACTED:aws_access_key_id]"


def test_the_routing_form_explains_live_and_what_if(setup: tuple[Console, dict[str, str], str]
                                                   ) -> None:
    ui, keys, _ = setup
    ui.sign_in(keys["viewer"])  # reading, not changing: a viewer may ask
    ui.open("/ui/routing")
    Select(ui.driver.find_element(By.NAME, "agent")).select_by_visible_text("backend")
    ui.driver.find_element(By.NAME, "prompt").send_keys("Add a limiter")
    ui.driver.find_element(By.CSS_SELECTOR, "form.explain button").click()
    ui.until(lambda d: d.find_elements(By.ID, "chosen"))
    assert ui.text("#chosen") == "author"
    ui.shot("routing")
    # What if its model were down: the record says why it is not chosen.
    ui.driver.find_element(By.NAME, "signals").send_keys("author=down")
    ui.driver.find_element(By.CSS_SELECTOR, "form.explain button").click()
    ui.until(lambda d: "author" in ui.text("ul.rejected"))
    assert "author: provider_down" in ui.text("ul.rejected")
    signals = ui.driver.find_element(By.NAME, "signals")
    signals.clear()
    signals.send_keys("warp_drive=on")
    ui.driver.find_element(By.CSS_SELECTOR, "form.explain button").click()
    ui.until(lambda d: d.find_elements(By.CSS_SELECTOR, "p.error"))
    assert "signals[0]: unknown signal" in ui.text("p.error")
    assert "warp_drive" not in ui.text("p.error")


def test_without_keys_loopback_browsers_get_the_admin_console() -> None:
    with gateway(crew_config()) as base:
        runs = httpx.get(f"{base}/ui")
        agents = httpx.get(f"{base}/ui/agents")
    assert runs.status_code == 200
    assert 'form method="post" action="/ui/runs"' in runs.text
    assert "default · admin" in runs.text
    assert 'class="assign"' in agents.text
