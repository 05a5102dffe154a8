"""Scanned PDFs and images, read with the real Tesseract and its Dutch model (Debian's tesseract-ocr-nld)."""

import shutil

import pytest

import documents
from helpers import build, shadow_library
from vraagbaak import ChunkingSettings, Index, ocr
from vraagbaak.ocr import OcrSettings
from vraagbaak.progress import describe_nl
from vraagbaak.readers import Unreadable, extract

pytestmark = pytest.mark.integration


def cached_pages(cache_folder) -> list[str]:
    """The cache files OCR wrote: one per recognised page."""
    return sorted(p.name.rsplit("-", 1)[1] for p in cache_folder.rglob("*.txt"))


def no_recognising(monkeypatch, folder):
    """From here on, recognising a page fails it, and so skips its file (which the tests then see)."""
    shadow_library(monkeypatch, folder, "pytesseract", 'def image_to_string(*args, **kwargs):\n    raise AssertionError("a page was recognised again")\n')


# Recognition that counts its calls in a file (the reading processes share no memory with the test):
# the first ``OCR_SUCCEEDS`` calls read a text made from the picture (a line repeated on
# every page would be dropped as a running header), later ones fail.
COUNTING_TESSERACT = """
import hashlib
import os

def image_to_string(image, *args, **kwargs):
    with open(os.environ["OCR_CALLS"], "a") as calls:
        calls.write("x")
    with open(os.environ["OCR_CALLS"]) as calls:
        n = len(calls.read())
    if n > int(os.environ["OCR_SUCCEEDS"]):
        raise RuntimeError("Tesseract viel om")
    word = "".join(chr(97 + int(c, 16)) for c in hashlib.sha256(image.tobytes()).hexdigest()[:12])
    return "Herkende tekst over de Wmo-aanvraag en de traplift in de gemeente Zuiderwaard: " + word
"""


@pytest.fixture
def scans(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    return folder


def test_an_image_only_pdf_is_found_by_a_question_about_its_second_page(scans, tmp_path, corpus):
    """With the real bundled model: the scan among the five default articles."""
    scan = documents.write_image_only_pdf(corpus / "scan.pdf")
    with pytest.raises(Unreadable, match="geen tekstlaag"):  # pictures only: without OCR there is no text at all
        extract(scan, scan.read_bytes())
    index = Index.build(corpus, tmp_path / "idx", progress=False)
    assert index.report.skipped == []
    hit = index.search("Hoe wordt het opbouwwerk in Zwolle betaald?", k=1)[0]
    assert (hit.source, hit.page) == ("scan.pdf", 2)
    assert "Zwolle" in hit.answer
    texts = " ".join(p.text for p in index.store.document_passages("scan.pdf"))
    assert documents.HEADER not in texts and "Pagina 1" not in texts  # cleaned as PDF text: running header, page numbers
    assert "maatschappelijk" in texts  # "maat-" / "schappelijk" joined


def test_png_and_a_multi_page_tiff_become_documents_with_pages(fake, scans, tmp_path):
    documents.write_png(scans / "pagina.png")
    documents.write_tiff(scans / "notitie.tiff")
    index = build(scans, tmp_path / "idx")
    assert sorted(index.documents) == ["notitie.tiff", "pagina.png"] and index.report.skipped == []
    hits = index.search("Zwolle opbouwwerk vast budget", k=2, mode="lexical")
    assert {(h.source, h.page) for h in hits} == {("notitie.tiff", 2), ("pagina.png", 1)}
    first = index.search("preventie vroegsignalering", k=1, mode="lexical", source="notitie.tiff")[0]
    assert first.page == 1


def test_a_mixed_pdf_ocrs_only_its_scanned_page(fake, scans, tmp_path, ocr_cache):
    documents.write_mixed_pdf(scans / "gemengd.pdf")
    index = build(scans, tmp_path / "idx")
    assert cached_pages(ocr_cache) == ["1.txt"]  # page 2 (0-based 1) only: page 1 has its own text
    assert index.search("Zwolle opbouwwerk", k=1, mode="lexical")[0].page == 2
    assert index.search("preventie vroegsignalering", k=1, mode="lexical")[0].page == 1


def test_a_rebuild_another_chunking_and_a_renamed_copy_recognise_nothing(fake, scans, tmp_path, ocr_cache, monkeypatch):
    documents.write_image_only_pdf(scans / "scan.pdf")
    first = [p.text for p in build(scans, tmp_path / "idx").store.document_passages("scan.pdf")]
    assert cached_pages(ocr_cache) == ["0.txt", "1.txt"]
    no_recognising(monkeypatch, tmp_path)
    shutil.move(scans / "scan.pdf", scans / "hernoemd.pdf")
    (scans / "archief").mkdir()
    shutil.copy(scans / "hernoemd.pdf", scans / "archief" / "kopie.pdf")
    again = build(scans, tmp_path / "idx")
    assert sorted(again.documents) == ["archief/kopie.pdf", "hernoemd.pdf"] and again.report.skipped == []
    other = build(scans, tmp_path / "idx2", settings=ChunkingSettings(max_tokens=120), rebuild=True)
    assert other.report.skipped == []
    assert [p.text for p in again.store.document_passages("hernoemd.pdf")] == first


def test_progress_is_reported_per_page_with_the_time_left(fake, scans, tmp_path):
    documents.write_image_only_pdf(scans / "scan.pdf")
    documents.write_png(scans / "pagina.png")
    seen = []
    build(scans, tmp_path / "idx", progress=seen.append)
    ocr_steps = [p for p in seen if p.pages_total]
    assert [p.pages_done for p in ocr_steps] == [1, 2, 3] and {p.pages_total for p in ocr_steps} == {3}
    line = describe_nl(ocr_steps[0])
    assert line.startswith("Tekst herkennen in scans (OCR): pagina 1 van 3; nog ongeveer "), line


def test_without_tesseract_a_scan_is_skipped_with_its_reason_and_the_rest_is_indexed(fake, scans, tmp_path, monkeypatch):
    documents.write_image_only_pdf(scans / "scan.pdf")
    documents.write_png(scans / "pagina.png")
    documents.write_pdf(scans / "notitie.pdf")
    (tmp_path / "leeg").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "leeg"))  # the reading processes look for tesseract too
    ocr._tesseract.cache_clear()
    try:
        index = build(scans, tmp_path / "idx")
    finally:
        ocr._tesseract.cache_clear()
    install = "Tesseract is niet geïnstalleerd; installeer Tesseract met het Nederlandse taalmodel: sudo apt install tesseract-ocr tesseract-ocr-nld"
    assert dict(index.report.skipped) == {
        "scan.pdf": f"geen tekstlaag (gescand?); {install}",
        "pagina.png": f"een afbeelding wordt alleen met OCR gelezen: {install}",
    }
    assert sorted(index.documents) == ["notitie.pdf"]


def test_ocr_can_be_turned_off(fake, scans, tmp_path, ocr_cache):
    documents.write_image_only_pdf(scans / "scan.pdf")
    documents.write_pdf(scans / "notitie.pdf")
    index = build(scans, tmp_path / "idx", ocr=OcrSettings(enabled=False))
    assert dict(index.report.skipped) == {"scan.pdf": "geen tekstlaag (gescand?); OCR staat uit"}
    assert cached_pages(ocr_cache) == []


def test_an_uploaded_scan_reports_each_page_and_is_not_recognised_again_by_the_update(fake, scans, tmp_path, monkeypatch):
    from vraagbaak.live import LiveIndex

    documents.write_pdf(scans / "notitie.pdf")
    live = LiveIndex(scans, tmp_path / "idx", model="fake")
    live.update(progress=False)
    pages = []
    data = documents.write_image_only_pdf(tmp_path / "brief.pdf").read_bytes()
    live.add("brief.pdf", data, on_page=lambda done, total: pages.append((done, total)))
    assert pages == [(1, 2), (2, 2)]
    no_recognising(monkeypatch, tmp_path)
    report = live.update(progress=False)
    assert report.documents_added == 1 and report.skipped == []
    assert {h.source for h in live.search("Zwolle opbouwwerk", k=5, mode="lexical")} >= {"brief.pdf"}


def test_a_page_that_fails_costs_its_file_only_and_the_pages_done_are_kept(fake, scans, tmp_path, ocr_cache, monkeypatch):
    """One reading process (workers=1), so that the pages go in order: the first is recognised, every later call fails."""
    documents.write_image_only_pdf(scans / "scan.pdf")
    documents.write_pdf(scans / "notitie.pdf")
    calls = tmp_path / "calls"
    monkeypatch.setenv("OCR_CALLS", str(calls))
    monkeypatch.setenv("OCR_SUCCEEDS", "1")
    shadow_library(monkeypatch, tmp_path, "pytesseract", COUNTING_TESSERACT)
    index = build(scans, tmp_path / "idx", workers=1)
    assert dict(index.report.skipped) == {"scan.pdf": "kon niet gelezen worden (fout in de PDF-lezer)"}
    assert sorted(index.documents) == ["notitie.pdf"]
    assert cached_pages(ocr_cache) == ["0.txt"]  # the page done before the failure is kept
    calls.unlink()
    monkeypatch.setenv("OCR_SUCCEEDS", "99")
    again = build(scans, tmp_path / "idx", workers=1)
    assert calls.read_text() == "x" and "scan.pdf" in again.documents  # only the missing page is recognised
