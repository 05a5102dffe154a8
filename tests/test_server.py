"""The server under attack: what a client sends is checked before anything is read (fake model, real app.py).

Each server runs in a process of its own (``tests/fake_app.py``), and every
request has a timeout: an attack that froze the server fails its test instead
of stalling the suite. The tests assert outcomes, never times.
"""

import json
import shutil
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest

from servers import ROOT, add_users, client, file_data, join, log_in, outcome, running_server, upload

USERS = {
    "anna": ("anna-wachtwoord", "redacteur", None),
    "bas": ("bas-wachtwoord", "lezer", "team-b"),
    "carla": ("carla-wachtwoord", "redacteur", None),  # locked out by one test: no other uses her
}


def _corpus(work: Path) -> Path:
    corpus = work / "corpus"
    for name in sorted(p.name for p in (ROOT / "corpus").glob("*.txt")):
        folder = corpus / ("team-b" if name == "wat-is-sociaal-werk.txt" else "team-a")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "corpus" / name, folder / name)
    return corpus


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A shared Vraagbaak behind a reverse proxy on 127.0.0.1 (``--proxy 127.0.0.1``): each test names its client's
    address in X-Forwarded-For, as the proxy would, so the throttles of one test never touch another's."""
    work = tmp_path_factory.mktemp("server")
    corpus = _corpus(work)
    users = work / "gebruikers.json"
    add_users(users, USERS)
    index = work / "index"
    with running_server(work, "tests/fake_app.py", "--corpus", corpus, "--index", index, "--users", users, "--model", "fake",
                        "--proxy", "127.0.0.1") as url:
        yield {"url": url, "corpus": corpus, "index": index}


def _call(session, api_name: str, data: list) -> list:
    """A named API endpoint through its two steps (submit, then read the result), as gradio_client does."""
    event = session.post(f"gradio_api/call/{api_name}", json={"data": data})
    assert event.status_code == 200, event.text
    with session.stream("GET", f"gradio_api/call/{api_name}/{event.json()['event_id']}") as stream:
        lines = list(stream.iter_lines())
    assert "event: complete" in lines, lines
    return json.loads(lines[lines.index("event: complete") + 1][len("data: "):])


def log_in_as(shared, name, address):
    session = log_in(shared["url"], name, USERS[name][0], address)
    session.timeout = httpx.Timeout(30)
    return session


def nothing_added(corpus: Path) -> bool:
    return not [p for p in corpus.rglob("*") if "passwd" in p.name or "zero" in p.name]


# ------------------------------------------------------------------ only what was uploaded is read


@pytest.mark.parametrize("path", ["/etc/passwd", "/dev/zero"])
@pytest.mark.parametrize("name, refusal", [("anna", "niet via deze pagina geüpload"), ("bas", "Alleen een redacteur")])
def test_a_server_path_the_client_names_is_never_opened(shared, name, refusal, path):
    me = log_in_as(shared, name, "198.51.100.1")
    response, _ = join(me, "toevoegen", [[file_data(path)], "", ""])
    assert response.status_code == 403 and refusal in response.json()["detail"]
    assert me.get("config").status_code == 200  # the server still answers
    assert nothing_added(shared["corpus"])


def test_a_file_named_in_a_search_is_refused_before_it_is_opened(shared):
    bas = log_in_as(shared, "bas", "198.51.100.2")
    response = bas.post("gradio_api/call/search", json={"data": [file_data("/dev/zero"), 5, "", "", ""]})
    assert response.status_code == 403
    assert bas.get("config").status_code == 200


def test_uploads_wait_in_the_index_folder_and_are_deleted_once_added_or_refused(shared):
    anna = log_in_as(shared, "anna", "198.51.100.3")
    good = upload(anna, "wijkboot.txt", "De wijkboot\n\nDe wijkboot is een varend buurthuis.\n".encode()).json()
    empty = upload(anna, "leeg.txt", b"").json()
    uploads = shared["index"] / "uploads"
    assert [Path(p).parent.parent for p in good + empty] == [uploads, uploads]  # Vraagbaak's folder, not Gradio's in /tmp
    response, session_hash = join(anna, "toevoegen", [[file_data(good[0]), file_data(empty[0])], "", ""])
    assert response.status_code == 200, response.text
    message = outcome(anna, session_hash)["output"]["data"][0]
    assert "Opgeslagen als wijkboot.txt" in message and "leeg.txt is niet leesbaar" in message, message
    assert (shared["corpus"] / "wijkboot.txt").is_file()
    assert list(uploads.rglob("*")) == []


def test_an_upload_belongs_to_the_session_that_made_it(shared):
    first = log_in_as(shared, "anna", "198.51.100.4")
    second = log_in_as(shared, "anna", "198.51.100.4")
    path = upload(first, "notitie.txt", "Notitie\n\nEen notitie over buurtwerk.\n".encode()).json()[0]
    response, _ = join(second, "toevoegen", [[file_data(path)], "", ""])
    assert response.status_code == 403
    assert first.post("logout").status_code == 303
    assert not Path(path).exists()  # logging out deletes what the session never added


def test_a_reader_cannot_upload(shared):
    bas = log_in_as(shared, "bas", "198.51.100.5")
    assert upload(bas, "x.txt", b"Een tekst.").status_code == 403
    assert list((shared["index"] / "uploads").rglob("*.txt")) == []


def test_a_file_name_is_shown_as_text(shared):
    (shared["corpus"] / "team-a" / "<img src=x onerror=alert(1)>.txt").write_bytes(b"")  # skipped by the update: empty
    anna = log_in_as(shared, "anna", "198.51.100.6")
    message = _call(anna, "update", [])[0]
    assert "&lt;img src=x onerror=alert(1)&gt;.txt: leeg bestand" in message and "<img" not in message


# ------------------------------------------------------------------ logins


def _search(session) -> list:
    return _call(session, "search", ["wat is preventie?", 3, "", "", ""])[0]


def test_a_login_flood_stops_nobody_else(shared):
    anna = log_in_as(shared, "anna", "198.51.100.10")
    attempts, answers = [], []

    def guess(i):
        with client(shared["url"], "203.0.113.66", timeout=60) as attacker:
            attempts.append(attacker.post("login", data={"username": f"niemand-{i}", "password": "geraden-wachtwoord"}))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
    threads.append(threading.Thread(target=lambda: answers.append(_search(anna))))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(answers) == 1 and answers[0] and answers[0][0]["source"].startswith("team-")  # answered during the flood
    statuses = Counter(r.status_code for r in attempts)
    assert len(attempts) == 40 and set(statuses) <= {400, 429} and statuses[429] > 0, statuses  # most refused unheard
    assert all(("klopt niet" in r.json()["detail"]) == (r.status_code == 400) for r in attempts)
    log_in_as(shared, "bas", "198.51.100.11")  # a colleague elsewhere logs in at once


def test_a_locked_out_name_is_told_to_wait_not_that_the_password_is_wrong(shared):
    answers = []
    with client(shared["url"], "192.0.2.10") as guesser:
        for _ in range(20):
            answers.append(guesser.post("login", data={"username": "carla", "password": "fout-wachtwoord"}))
            if answers[-1].status_code == 429:
                break
    last = answers[-1]
    assert last.status_code == 429, [a.status_code for a in answers]
    assert "Wacht" in last.json()["detail"] and "klopt niet" not in last.json()["detail"]
    assert int(last.headers["retry-after"]) >= 1
    assert [a.status_code for a in answers[:3]] == [400, 400, 400]  # three typos are free and say so


def test_guessing_names_from_one_address_makes_that_address_wait_only(shared):
    answers = []
    with client(shared["url"], "192.0.2.20") as guesser:
        for i in range(40):
            answers.append(guesser.post("login", data={"username": f"naam-{i}", "password": "fout-wachtwoord"}))
            if answers[-1].status_code == 429:
                break
    assert answers[-1].status_code == 429 and "Wacht" in answers[-1].json()["detail"]
    log_in_as(shared, "anna", "192.0.2.21")  # the proxy names another client: not locked out


# ------------------------------------------------------------------ one origin


def test_no_other_origin_gets_in_behind_a_proxy(shared):
    anna = log_in_as(shared, "anna", "198.51.100.30")
    evil = {"Origin": "https://evil.example", "Host": "vraagbaak.example"}
    response = anna.get("config", headers=evil)
    assert "access-control-allow-origin" not in response.headers and "access-control-allow-credentials" not in response.headers
    preflight = anna.options("gradio_api/queue/join", headers={**evil, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_the_session_cookie_stays_on_this_site_and_is_secure_over_https(shared):
    form = {"username": "anna", "password": USERS["anna"][0]}
    with client(shared["url"], "198.51.100.31") as browser:
        plain = browser.post("login", data=form).headers["set-cookie"].lower()
        over_https = browser.post("login", data=form, headers={"X-Forwarded-Proto": "https"}).headers["set-cookie"].lower()
    assert "samesite=lax" in plain and "httponly" in plain and "secure" not in plain.replace("samesite", "")
    assert "samesite=lax" in over_https and "; secure" in over_https


def test_logging_out_takes_a_post(shared):
    anna = log_in_as(shared, "anna", "198.51.100.32")
    assert anna.get("logout").status_code == 405 and anna.get("config").status_code == 200  # a link cannot log anyone out
    assert anna.post("logout").status_code == 303
    assert anna.get("config").status_code == 401


def test_no_shared_page_states_and_no_run_history(shared):
    anna = log_in_as(shared, "anna", "198.51.100.33")
    assert anna.get("gradio_api/deep_link", params={"session_hash": "abc"}).status_code == 404
    assert anna.get("", params={"deep_link": "abc"}).status_code == 404
    assert anna.get("config").json()["run_history"] is False


def test_the_login_page_is_dutch_and_nothing_else_answers_without_a_login(shared):
    anonymous = client(shared["url"], "198.51.100.34")
    page = anonymous.get("")
    assert page.status_code == 200 and "Inloggen" in page.text and "Wachtwoord" in page.text
    for path in ("config", "gradio_api/upload_progress", "theme.css", "gradio_api/info", "bron/team-b/wat-is-sociaal-werk.txt"):
        assert anonymous.get(path).status_code == 401, path


# ------------------------------------------------------------------ without accounts, and without a trusted proxy


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """One person's Vraagbaak on 127.0.0.1: no accounts, and a proxy named that is not the test's address."""
    work = tmp_path_factory.mktemp("alleen")
    corpus = _corpus(work)
    users = work / "gebruikers.json"
    add_users(users, {"eva": ("eva-wachtwoord", "redacteur", None)})
    with running_server(work, "tests/fake_app.py", "--corpus", corpus, "--index", work / "index", "--model", "fake") as url, \
            running_server(work, "tests/fake_app.py", "--corpus", corpus, "--index", work / "index2", "--model", "fake",
                           "--users", users, "--proxy", "10.255.255.1", log_name="app2.log") as url_with_users:
        yield {"url": url, "with_users": url_with_users, "corpus": corpus}


@pytest.mark.parametrize("path", ["/etc/passwd", "/dev/zero"])
def test_without_accounts_too_a_server_path_is_never_opened(alone, path):
    me = client(alone["url"], timeout=30)
    response, _ = join(me, "toevoegen", [[file_data(path)], "", ""])
    assert response.status_code == 403
    assert me.get("config").status_code == 200
    assert nothing_added(alone["corpus"])


def test_x_forwarded_headers_from_an_untrusted_address_are_ignored(alone):
    url = alone["with_users"]
    with client(url) as browser:
        answer = browser.post("login", data={"username": "eva", "password": "eva-wachtwoord"}, headers={"X-Forwarded-Proto": "https"})
    assert answer.status_code == 200 and "; secure" not in answer.headers["set-cookie"].lower()  # https only when a trusted proxy says so
    answers = []
    for i in range(40):  # each attempt claims another client address: all are 127.0.0.1's
        with client(url, f"192.0.2.{i}") as guesser:
            answers.append(guesser.post("login", data={"username": f"naam-{i}", "password": "fout-wachtwoord"}))
        if answers[-1].status_code == 429:
            break
    assert answers[-1].status_code == 429 and "Wacht" in answers[-1].json()["detail"]


def test_gradios_own_input_path_check_applies_behind_the_guard(fake, corpus, tmp_path, monkeypatch):
    """With the guard taken away, Gradio itself still refuses an input file outside its upload folder
    (it checks only once it believes it was launched, which mount_gradio_app alone never makes it believe)."""
    from fastapi.testclient import TestClient

    from servers import outcome
    from vraagbaak import LiveIndex
    from vraagbaak.web.server import Guard, make_app

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))  # make_app sets it for the process: restored after
    live = LiveIndex(corpus, tmp_path / "idx", model="fake")
    live.update(progress=False)
    app = make_app(live)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not Guard]
    with TestClient(app) as browser:
        response, session_hash = join(browser, "toevoegen", [[file_data("/etc/passwd")], "", ""])
        assert response.status_code == 200  # no guard: Gradio takes the event
        result = outcome(browser, session_hash)
    assert result["success"] is False and "not uploaded by a user" in str(result["output"])
    assert not (corpus / "passwd.txt").exists()
