"""A shared Vraagbaak with accounts: every route behind a login, roles and collections enforced (real app.py, real model)."""

import shutil
import subprocess
import sys

import httpx
import pytest

from test_web import ARTIFACTS, ROOT, _browser, running_app

pytestmark = pytest.mark.integration

USERS = {"anna": ("anna-wachtwoord", "redacteur", None), "bas": ("bas-wachtwoord", "lezer", "team-b")}


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    work = tmp_path_factory.mktemp("gedeeld")
    corpus = work / "corpus"
    for name in sorted(p.name for p in (ROOT / "corpus").glob("*.txt")):
        folder = corpus / ("team-b" if name == "wat-is-sociaal-werk.txt" else "team-a")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "corpus" / name, folder / name)
    users = work / "gebruikers.json"
    for name, (password, role, collections) in USERS.items():
        extra = ["--collections", collections] if collections else []
        subprocess.run([sys.executable, "-m", "vraagbaak", "users", "add", name, "--role", role, *extra, "--users", str(users)],
                       input=password + "\n", text=True, check=True, cwd=ROOT, capture_output=True)
    with running_app(work, "--corpus", str(corpus), "--index", str(work / "index"), "--users", str(users)) as url:
        yield {"url": url, "corpus": corpus, "users": users}


def session(shared, name):
    """An HTTP client logged in as ``name`` (Gradio's own /login, as gradio_client and the page use it)."""
    client = httpx.Client(base_url=shared["url"], timeout=60)
    response = client.post("login", data={"username": name, "password": USERS[name][0]})
    assert response.status_code == 200, response.text
    return client


def test_no_route_answers_without_a_login(shared):
    anonymous = httpx.Client(base_url=shared["url"], timeout=60)
    for method, path in [("GET", "config"), ("GET", "gradio_api/info"), ("GET", "bron/team-b/wat-is-sociaal-werk.txt"),
                         ("POST", "gradio_api/upload"), ("POST", "gradio_api/queue/join"), ("POST", "gradio_api/call/search"),
                         ("POST", "gradio_api/run/search"), ("GET", f"gradio_api/file={shared['corpus']}/team-a/vertrouw-op-je-kracht.txt")]:
        response = anonymous.request(method, path)
        assert response.status_code in (401, 403), (path, response.status_code)
        assert "sociaal" not in response.text.lower(), path
    page = anonymous.get("")
    assert "wat-is-sociaal-werk" not in page.text and "vertrouw-op-je-kracht" not in page.text  # the shell only: no documents


def test_wrong_passwords_fail_and_the_client_needs_a_login(shared):
    from gradio_client import Client

    client = httpx.Client(base_url=shared["url"], timeout=60)
    assert client.post("login", data={"username": "anna", "password": "fout-wachtwoord"}).status_code == 400
    assert client.post("login", data={"username": "niemand", "password": "anna-wachtwoord"}).status_code == 400
    with pytest.raises(Exception):
        Client(shared["url"], verbose=False).predict("wat is preventie?", 5, api_name="/search")
    with pytest.raises(Exception):
        Client(shared["url"], auth=("bas", "anna-wachtwoord"), verbose=False)


def test_a_reader_of_one_collection_gets_k_hits_from_it_only(shared):
    from gradio_client import Client

    bas = Client(shared["url"], auth=("bas", USERS["bas"][0]), verbose=False)
    hits = bas.predict("wat is preventie?", 5, "", "", "", api_name="/search")
    assert len(hits) == 5 and {h["source"] for h in hits} == {"team-b/wat-is-sociaal-werk.txt"}
    anna = Client(shared["url"], auth=("anna", USERS["anna"][0]), verbose=False)
    best = anna.predict("wat is preventie?", 5, "", "", "", api_name="/search")
    assert best[0]["source"].startswith("team-a/")  # the best answer lies in the other collection
    with pytest.raises(Exception, match="De map 'team-a' staat niet in de index"):
        bas.predict("wat is preventie?", 5, "", "team-a", "", api_name="/search")
    with pytest.raises(Exception, match="Het document .* staat niet in de index"):
        bas.predict("wat is preventie?", 5, "team-a/vertrouw-op-je-kracht.txt", "", "", api_name="/search")


def test_a_reader_cannot_upload_or_update(shared):
    from gradio_client import Client

    bas = Client(shared["url"], auth=("bas", USERS["bas"][0]), verbose=False)
    with pytest.raises(Exception, match="Alleen een redacteur"):
        bas.predict(api_name="/update")
    upload = session(shared, "bas").post("gradio_api/upload", files={"files": ("x.txt", b"Een tekst.", "text/plain")})
    assert upload.status_code == 403
    anna = Client(shared["url"], auth=("anna", USERS["anna"][0]), verbose=False)
    assert "Index bijgewerkt" in anna.predict(api_name="/update")[0]


def test_links_open_only_the_users_collections(shared):
    bas = session(shared, "bas")
    assert bas.get("bron/team-b/wat-is-sociaal-werk.txt").status_code == 200
    refused = bas.get("bron/team-a/vertrouw-op-je-kracht.txt")
    assert refused.status_code == 404 and "kracht" not in refused.text.lower()
    assert session(shared, "anna").get("bron/team-a/vertrouw-op-je-kracht.txt").status_code == 200


def test_logout_ends_the_session(shared):
    anna = session(shared, "anna")
    assert anna.get("config").status_code == 200
    assert anna.get("logout").status_code == 405 and anna.get("config").status_code == 200  # a link or an image logs nobody out
    anna.post("logout")
    assert anna.get("config").status_code == 401 and anna.get("bron/team-b/wat-is-sociaal-werk.txt").status_code == 401


def test_browser_log_in_search_open_a_source_and_log_out(shared):
    playwright, chromium = _browser()
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1200, "height": 1100})
        page.goto(shared["url"])
        page.locator("input[type=text]").first.fill("bas")
        page.locator("input[type=password]").fill("een-fout-wachtwoord")
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_function("() => document.querySelector('#melding').innerText.includes('klopt niet')")  # said in Dutch
        page.locator("input[type=password]").fill(USERS["bas"][0])
        page.screenshot(path=str(ARTIFACTS / "inloggen.png"))
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_selector("#vraag textarea", timeout=60000)
        page.wait_for_function("() => document.querySelector('#status')?.innerText.includes('ingelogd als bas')")
        assert "1 document, " in page.locator("#status").inner_text()
        assert not page.locator("#toevoegen").is_visible() and not page.get_by_text("Teksten toevoegen").is_visible()
        box = page.locator("#vraag textarea")
        box.fill("wat is preventie?")
        box.press("Enter")
        page.wait_for_selector("#resultaten .vb-hit", timeout=60000)
        sources = {h.get_attribute("data-source") for h in page.locator("#resultaten .vb-hit").all()}
        assert sources == {"team-b/wat-is-sociaal-werk.txt"}
        stored = page.evaluate("() => JSON.stringify(Object.assign({}, localStorage, sessionStorage))")
        assert "preventie" not in stored and "wat-is-sociaal-werk" not in stored  # no run history kept in the browser
        with page.expect_popup() as popup:
            page.locator("#resultaten a.vb-open").first.click()
        tab = popup.value
        tab.wait_for_load_state()
        assert "Sociaal Werk Nederland" in tab.content()
        tab.close()
        page.screenshot(path=str(ARTIFACTS / "ingelogd-zoeken.png"), full_page=True)
        page.locator("#uitloggen").click()
        page.wait_for_selector("input[type=password]", timeout=30000)
        assert "wat-is-sociaal-werk" not in page.content()
        browser.close()


def test_a_non_loopback_host_without_users_is_refused():
    result = subprocess.run([sys.executable, "app.py", "--host", "0.0.0.0"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("fout: --host 0.0.0.0 laat andere computers toe"), result.stderr
