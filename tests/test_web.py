"""The web page end to end: a real ``python app.py``, gradio_client and headless Chromium.

Integration tests: they use the real bundled model. The browser tests need
Debian's ``chromium`` (the README's test command installs it) and Playwright.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("web")
    corpus = work / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    port = free_port()
    log = open(work / "app.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--corpus", str(corpus), "--index", str(work / "index"), "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail("app.py exited: " + (work / "app.log").read_text()[-2000:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(1)
    else:
        pytest.fail("app.py did not start")
    yield {"url": url, "corpus": corpus, "work": work}
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server["url"], verbose=False)


def test_search_api_answers_wat_is_preventie(client):
    hits = client.predict("wat is preventie?", 5, "", api_name="/search")
    assert hits[0]["source"] == "in-gesprek-over-sociaal-werk.txt"
    assert "preventie" in hits[0]["answer"].lower()
    assert hits[0]["answer"] in hits[0]["text"]
    assert {"rank", "score", "source", "title", "text", "answer", "start", "end"} <= set(hits[0])


def test_twenty_simultaneous_searches_during_an_update(server, client):
    for i in range(12):  # enough new text that the update takes a while
        (server["corpus"] / f"extra-{i}.txt").write_text(
            f"Extra tekst {i}\n\n" + " ".join(f"Zin {j} over buurtwerk nummer {i}." for j in range(60)), encoding="utf-8"
        )
    job = client.submit(api_name="/update")
    time.sleep(1.0)  # let the update start embedding
    results, errors = [], []

    def ask():
        try:
            results.append(client.predict("wat is preventie?", 3, "", api_name="/search"))
        except Exception as exc:  # noqa: BLE001 - every failure is what we count
            errors.append(repr(exc))

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    update_running_after = not job.done()
    message = job.result(timeout=600)
    assert errors == [] and len(results) == 20
    assert all(r[0]["source"] == "in-gesprek-over-sociaal-werk.txt" for r in results)
    assert "12 nieuw" in message[0]
    print("update still running when the 20 searches had finished:", update_running_after)


def _browser():
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.skip("Debian's chromium is not installed (the README's test command installs it)")
    return playwright, chromium


@pytest.fixture(scope="module")
def page(server):
    playwright, chromium = _browser()
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"],
        )
        pg = browser.new_page(viewport={"width": 1200, "height": 1400})
        requests = []
        pg.on("request", lambda r: requests.append(r.url))
        pg.requests = requests
        pg.goto(server["url"])
        pg.wait_for_selector("#vraag textarea")
        yield pg
        browser.close()


def ask(page, question):
    box = page.locator("#vraag textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "q => [...document.querySelectorAll('#resultaten .vb-results')].some(e => e.dataset.question === q)",
        arg=question,
        timeout=60000,
    )


def test_browser_search_highlights_the_answer(page):
    ask(page, "wat is preventie?")
    first = page.locator("#resultaten .vb-hit").first
    assert first.get_attribute("data-source") == "in-gesprek-over-sociaal-werk.txt"
    answer = first.locator("mark.vb-answer").inner_text()
    assert "preventie" in answer.lower()
    assert first.locator(".vb-term").count() >= 1  # the question's words are marked
    page.screenshot(path=str(ARTIFACTS / "zoeken.png"), full_page=True)


def _upload(page, name, data, mime="text/plain"):
    if not page.locator("#toevoegen").is_visible():
        page.get_by_text("Teksten toevoegen").click()
    page.locator("#upload input[type=file]").set_input_files({"name": name, "mimeType": mime, "buffer": data})
    page.wait_for_timeout(1500)
    page.locator("#toevoegen").click()
    # Wait for the final message, which names the file (while it works, the
    # box shows a timer and progress instead).
    page.wait_for_function(
        """name => { const t = document.querySelector('#melding').innerText;
                     return t.includes(name) && !/processing|\\d\\.\\ds/.test(t); }""",
        arg=name.split("/")[-1], timeout=300000,
    )
    return page.locator("#melding").inner_text()


def test_browser_upload_then_find_the_new_text(page, server):
    text = (
        "De wijkboot van Zuiderwaard\n\n"
        "De wijkboot is een varend buurthuis. Elke dinsdag legt de boot aan bij de kade, "
        "waar bewoners koffie drinken en sociaal werkers spreekuur houden over schulden en eenzaamheid.\n"
    ).encode("utf-8")
    message = _upload(page, "wijkboot.txt", text)
    assert "wijkboot.txt" in message, message
    assert (server["corpus"] / "wijkboot.txt").is_file()
    ask(page, "Wat is de wijkboot?")
    assert page.locator("#resultaten .vb-hit").first.get_attribute("data-source") == "wijkboot.txt"
    page.screenshot(path=str(ARTIFACTS / "na-upload.png"), full_page=True)


def test_browser_upload_a_pdf_and_find_its_second_page(page, server, tmp_path):
    import documents

    pdf = documents.write_pdf(tmp_path / "notitie.pdf")
    message = _upload(page, "beleidsnotitie.pdf", pdf.read_bytes(), mime="application/pdf")
    assert "beleidsnotitie.pdf" in message, message
    ask(page, "Hoe wordt het opbouwwerk in Zwolle betaald?")
    first = page.locator("#resultaten .vb-hit").first
    assert first.get_attribute("data-source") == "beleidsnotitie.pdf"
    assert "Zwolle" in first.locator("mark.vb-answer").inner_text()
    assert first.locator(".vb-page").inner_text() == "p. 2"
    page.screenshot(path=str(ARTIFACTS / "pdf-upload.png"), full_page=True)


def test_browser_a_scanned_pdf_is_refused_with_the_reason(page, server, tmp_path):
    import documents

    scanned = documents.write_scanned_pdf(tmp_path / "scan.pdf")
    message = _upload(page, "scan.pdf", scanned.read_bytes(), mime="application/pdf")
    assert "scan.pdf is niet leesbaar: geen tekstlaag (gescand?)" in message, message
    assert not (server["corpus"] / "scan.pdf").exists()


@pytest.mark.parametrize(
    "name, data, expected",
    [
        ("plaatje.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "plaatje.txt is niet leesbaar"),
        ("leeg.txt", b"", "leeg.txt is niet leesbaar: leeg bestand"),
        ("groot.txt", b"woord " * (6 * 1024 * 1024 // 6 + 10), "groot.txt is 6,0 MB; maximaal 5 MB per bestand"),
        ("../../evil.txt", b"Een tekst die een pad probeert te misbruiken.", "Opgeslagen als evil.txt"),
    ],
    ids=["binary", "empty", "6MB", "path"],
)
def test_browser_bad_uploads_get_a_clear_message(page, server, name, data, expected):
    import re

    outside = [server["work"] / "evil.txt", server["work"].parent / "evil.txt", ROOT / "evil.txt"]
    message = _upload(page, name, data)
    assert re.search(expected, message, re.I), message
    for path in outside:
        assert not path.exists()
    for path in server["corpus"].rglob("*"):
        assert path.resolve().parent == server["corpus"].resolve()


def test_browser_says_so_when_nothing_answers(page):
    ask(page, "Waar mag ik parkeren met een parkeerschijf?")
    results = page.locator("#resultaten")
    assert results.locator(".vb-hit").count() == 0
    assert "Geen passage in de teksten beantwoordt deze vraag goed" in results.inner_text()


def test_browser_empty_question_gets_a_hint(page):
    ask(page, "   ")
    assert "Typ eerst een vraag" in page.locator("#resultaten").inner_text()


def test_page_made_no_request_to_another_host(page):
    hosts = {urlparse(u).hostname for u in page.requests if urlparse(u).scheme in ("http", "https", "ws", "wss")}
    assert hosts <= {"127.0.0.1", "localhost"}, hosts
    assert len(page.requests) > 5  # the recording itself worked
