"""The page's callbacks, called without a browser (fake model)."""

import pytest

from vraagbaak.live import LiveIndex
from vraagbaak.web.page import add_texts, search_json, search_page, status_line, update_index
from vraagbaak.web.render import dutch_datetime, upload_label
from vraagbaak.web.uploads import UploadFolder


def no_progress(*args, **kwargs):
    pass


@pytest.fixture
def live(fake, corpus, tmp_path):
    (corpus / "team").mkdir()
    (corpus / "team" / "mantelzorg.md").write_text("# Mantelzorg\n\nMantelzorgers zorgen onbetaald voor een naaste.\n", encoding="utf-8")
    index = LiveIndex(corpus, tmp_path / "index", model="fake")
    index.update(progress=False)
    return index


def test_questions_are_checked_by_the_search_with_the_pages_words(live):
    assert "Typ eerst een vraag" in search_page(live.view(), "   ", 5, "", [], [])
    assert "tekens lang; stel hem in hoogstens 1000 tekens" in search_page(live.view(), "waarom " * 300, 5, "", [], [])


def test_the_api_filters_and_links(live):
    hits = search_json(live.view(), "mantelzorgers naaste", 5, "", "team", "")
    assert [h["source"] for h in hits] == ["team/mantelzorg.md"] and hits[0]["link"] == "bron/team/mantelzorg.md"
    assert {h["source"].rsplit(".", 1)[1] for h in search_json(live.view(), "sociaal werk", 5, "", "", "txt, md")} <= {"txt", "md"}


def test_status_and_lists_follow_an_update(live, corpus):
    before = status_line(live.view())
    assert "6 documenten" in before and "bijgewerkt op" in before
    (corpus / "team" / "nieuw.txt").write_text("Respijtzorg\n\nRespijtzorg geeft mantelzorgers even rust.\n", encoding="utf-8")
    message, status, documents, folders, types = update_index(live, no_progress)
    assert "1 nieuw" in message and "7 documenten" in status
    assert "team/nieuw.txt" in [value for _, value in documents["choices"]]
    assert folders["choices"] == ["team"] and types["choices"] == ["md", "txt"]


@pytest.fixture
def uploads(tmp_path):
    folder = UploadFolder(tmp_path / "uploads")
    folder.prepare()
    return folder


def uploaded(uploads, name, data, session=None):
    """A file as Gradio's upload route leaves it (``<folder>/<hash>/<name>``), recorded for ``session``."""
    path = uploads.folder / f"h{abs(hash(data))}" / name
    path.parent.mkdir()
    path.write_bytes(data)
    uploads.record(session, [str(path)])
    return str(path)


def test_an_upload_is_saved_indexed_and_a_second_copy_refused(live, corpus, uploads):
    data = "De wijkboot\n\nDe wijkboot is een varend buurthuis.\n".encode()
    message, status, *_, emptied = add_texts(live, uploads, [uploaded(uploads, "wijkboot.txt", data)], "", "", no_progress)
    assert "Opgeslagen als wijkboot.txt" in message and "1 nieuw" in message and emptied is None
    message, *_ = add_texts(live, uploads, [uploaded(uploads, "kopie.txt", data)], "", "", no_progress)
    assert message == '<div class="vb-message"><p>Niet toegevoegd: kopie.txt staat er al in: de inhoud is gelijk aan wijkboot.txt; niets opgeslagen</p></div>'
    assert not (corpus / "kopie.txt").exists()
    assert list(uploads.folder.iterdir()) == []  # each upload deleted once saved or refused


def test_dates_and_the_upload_label_in_dutch(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    try:
        assert dutch_datetime("2026-12-04T15:30:00+0000") == "4 december 2026, 15:30"
        assert dutch_datetime("") == "onbekend"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert upload_label() == "Per bestand: txt, md, html tot 5 MB; pdf, docx, odt, scans (png, jpg, tiff) tot 50 MB"


def test_a_session_ends_after_its_time():
    from types import SimpleNamespace

    from vraagbaak.web.server import SESSION_COOKIE, Sessions

    now = [0.0]
    sessions = Sessions(3600, clock=lambda: now[0])
    request = lambda token: SimpleNamespace(cookies={SESSION_COOKIE: token})  # noqa: E731
    anna = sessions.start("anna")
    assert sessions.user(request(anna)) == "anna"
    assert sessions.user(request("made-up")) is None and sessions.user(SimpleNamespace(cookies={})) is None
    now[0] = 3601
    assert sessions.user(request(anna)) is None
    now[0] = 0
    assert sessions.user(request(anna)) is None  # ended, not just hidden
    bas = sessions.start("bas")
    sessions.end(bas)
    assert sessions.user(request(bas)) is None


def test_a_file_name_is_shown_as_text_not_as_html(live, corpus):
    (corpus / "<img src=x onerror=alert(1)>.txt").write_bytes(b"")  # skipped: empty
    message, status, *_ = update_index(live, no_progress)
    assert "Overgeslagen: &lt;img src=x onerror=alert(1)&gt;.txt: leeg bestand" in message
    assert "<img" not in message and "<img" not in status
