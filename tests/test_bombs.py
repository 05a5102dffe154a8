"""Files made to exhaust a reader (issue 35): each costs its own file only, in a build and as an upload.

The bombs are written at test time (``bombs.py``). Reading them without the
limits took gigabytes (the issue's figures); here every one is refused with a
Dutch reason, beside a normal file that is indexed. OCR is on, with the real
Tesseract (its limits are checked before it would run).
"""

import functools
import os

import pytest

import bombs
import documents
from helpers import build, shadow_library, within
from vraagbaak import VraagbaakError
from vraagbaak.corpus import read_task
from vraagbaak.isolation import Failed, IsolationSettings, Workers
from vraagbaak.live import LiveIndex
from vraagbaak.ocr import OcrSettings, page_image, render_dpi

pytestmark = pytest.mark.integration  # OCR's limits need Tesseract installed (Debian's tesseract-ocr-nld)

TOO_LARGE = {
    "groot.pdf": "te groot om te lezen: pagina 1 is 508 × 508 cm, te groot voor OCR (hoogstens 50 miljoen pixels bij 100 dpi)",
    "blanco.pdf": "te groot om te lezen: 2.000 gescande pagina's; OCR leest er hoogstens 500 per bestand",
    "paginas.tiff": "te groot om te lezen: pagina 1 is 10.000 × 10.000 pixels; OCR leest tot 50 miljoen pixels per pagina",
    "groot.png": "te groot om te lezen: de afbeelding is 13.000 × 13.000 pixels; OCR leest tot 50 miljoen pixels per pagina",
    "bom.docx": "te groot om te lezen: het onderdeel word/document.xml is uitgepakt 1,2 GB; hoogstens 100 MB",
    "bom.odt": "te groot om te lezen: het onderdeel content.xml is uitgepakt 1,2 GB; hoogstens 100 MB",
    "groot.html": "te groot om te lezen: 40 MB; hoogstens 5 MB voor een webpagina",
}
# A PDF whose one content stream inflates to 1.2 GB: no reader limit knows it; the
# memory ceiling of the reading process does (PDFium aborts when an allocation fails).
CEILING = "kon niet gelezen worden: het leesproces brak af ("


@pytest.fixture(scope="module")
def bomb_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bommen")
    bombs.huge_page_pdf(folder / "groot.pdf")
    bombs.blank_pdf(folder / "blanco.pdf")
    bombs.tiff_bomb(folder / "paginas.tiff")
    bombs.png_bomb(folder / "groot.png")
    bombs.docx_bomb(folder / "bom.docx")
    bombs.odt_bomb(folder / "bom.odt")
    bombs.huge_html(folder / "groot.html")
    bombs.stream_pdf(folder / "stroom.pdf")
    return folder


def test_the_bombs_are_small(bomb_folder):
    sizes = {p.name: p.stat().st_size for p in bomb_folder.iterdir()}
    assert sizes["groot.pdf"] < 1000 and sizes["paginas.tiff"] < 500_000 and sizes["bom.docx"] < 5_000_000
    assert sizes["stroom.pdf"] < 3_000_000 and sizes["blanco.pdf"] < 300_000


def test_a_build_skips_every_bomb_with_its_reason_and_indexes_the_normal_file(fake, bomb_folder, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for bomb in bomb_folder.iterdir():
        os.link(bomb, corpus / bomb.name)
    (corpus / "wijkteam.txt").write_text("Het wijkteam helpt bewoners met vragen over zorg en geld.", encoding="utf-8")
    index = within(300, lambda: build(corpus, tmp_path / "idx", workers=2))
    skipped = dict(index.report.skipped)
    assert skipped.pop("stroom.pdf").startswith(CEILING)
    assert skipped == TOO_LARGE
    assert list(index.documents) == ["wijkteam.txt"]
    assert index.search("wijkteam zorg", k=1, mode="lexical")[0].source == "wijkteam.txt"


@pytest.fixture
def live(fake, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "wijkteam.txt").write_text("Het wijkteam helpt bewoners met vragen over zorg en geld.", encoding="utf-8")
    index = LiveIndex(corpus, tmp_path / "idx", model="fake")
    index.update(progress=False)
    return index


def test_an_uploaded_bomb_is_refused_with_a_dutch_reason_and_nothing_is_saved(live, bomb_folder):
    before = sorted(p.name for p in live.corpus_dir.iterdir())
    for name, reason in [*TOO_LARGE.items(), ("stroom.pdf", CEILING)]:
        data = (bomb_folder / name).read_bytes()
        with pytest.raises(VraagbaakError) as refused:
            within(120, lambda: live.add(name, data))
        message = str(refused.value)
        if name == "groot.html":  # over the upload limit: refused before it is read
            assert message == "groot.html is 40,0 MB; maximaal 5 MB per bestand van dit type"
        else:
            assert message.startswith(f"{name} is niet leesbaar: {reason}"), message
    assert sorted(p.name for p in live.corpus_dir.iterdir()) == before
    assert live.search("wijkteam", k=1, mode="lexical")[0].source == "wijkteam.txt"  # the index answers as before


# python-docx, imported by the Word reader when it reads a file: its process is killed there,
# as the kernel kills a process that takes too much memory.
SIGKILL_ON_OPEN = "import os\nimport signal\n\nos.kill(os.getpid(), signal.SIGKILL)\n"
KILLED = "kon niet gelezen worden: het leesproces werd gestopt (SIGKILL; vaak omdat het geheugen van de computer opraakte)"


def test_a_reading_process_killed_mid_read_costs_that_file_only(fake, tmp_path, monkeypatch):
    """75 files on two processes, eight to a batch: the Word file's process dies; the files
    after it in its batch are read by others, and the Word file once more alone."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(74):
        (corpus / f"notitie-{n:02}.txt").write_text(f"Notitie {n} over het buurthuis en de wijk.", encoding="utf-8")
    documents.write_docx(corpus / "notitie-30-verslag.docx")
    shadow_library(monkeypatch, tmp_path, "docx", SIGKILL_ON_OPEN)
    index = within(300, lambda: build(corpus, tmp_path / "idx", workers=2))
    assert index.report.skipped == [["notitie-30-verslag.docx", KILLED]]
    assert len(index.documents) == 74


def test_an_upload_whose_reading_process_is_killed_is_refused(live, tmp_path, monkeypatch):
    data = documents.write_docx(tmp_path / "verslag.docx").read_bytes()
    shadow_library(monkeypatch, tmp_path, "docx", SIGKILL_ON_OPEN)
    before = sorted(p.name for p in live.corpus_dir.iterdir())
    with pytest.raises(VraagbaakError, match="^verslag.docx is niet leesbaar: " + KILLED.replace("(", r"\(").replace(")", r"\)")):
        within(120, lambda: live.add("verslag.docx", data))
    assert sorted(p.name for p in live.corpus_dir.iterdir()) == before


def test_a_process_killed_while_recognising_a_scan_costs_that_scan_only(fake, tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    documents.write_image_only_pdf(corpus / "scan.pdf")
    documents.write_pdf(corpus / "notitie.pdf")
    shadow_library(monkeypatch, tmp_path, "pytesseract", "import os, signal\n\ndef image_to_string(*args, **kwargs):\n"
                                                         "    os.kill(os.getpid(), signal.SIGKILL)\n")
    index = within(300, lambda: build(corpus, tmp_path / "idx", workers=2))
    assert index.report.skipped == [["scan.pdf", KILLED]]
    assert list(index.documents) == ["notitie.pdf"]


# ----------------------------------------------------------------- OCR's limits, small


def test_a_large_page_is_rendered_at_a_lower_resolution_within_the_pixel_limit(tmp_path):
    scan = documents.write_image_only_pdf(tmp_path / "scan.pdf")
    settings = OcrSettings(max_pixels=1_000_000, min_dpi=100)  # an A4 page at 300 dpi is 8.7 million
    dpi = render_dpi(595, 842, settings)
    assert 100 <= dpi < 110
    image = page_image(scan.read_bytes(), 0, settings)
    assert image.size[0] * image.size[1] <= 1_000_000
    assert render_dpi(595, 842, OcrSettings(max_pixels=1_000_000, min_dpi=150)) is None  # beyond: refused


def test_a_tiffs_frames_are_decoded_one_at_a_time(tmp_path):
    """Six blank frames of 100 million pixels, the pixel limit raised: one frame at a time fits a
    300 MB ceiling (every frame at once, as before, ran out of it), and no blank frame is recognised."""
    tiff = bombs.tiff_bomb(tmp_path / "paginas.tiff", frames=6)
    read = functools.partial(read_task, ocr=OcrSettings(max_pixels=2 * 10**8))
    with Workers(1, IsolationSettings(memory_bytes=300 * 1024**2)) as workers:
        [result] = within(120, lambda: workers.map(read, [(str(tiff), "paginas.tiff")]))
    assert result == Failed("geen tekst gevonden (OCR las niets)")


def test_blank_pages_cost_no_recognition(fake, tmp_path, monkeypatch):
    """A scan of two pages of text, one scanned white page and one empty page: Tesseract reads two."""
    import pypdfium2 as pdfium
    from PIL import Image

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text_pages = documents.page_images(documents.write_pdf(tmp_path / "bron.pdf"))
    white = Image.new("L", text_pages[0].size, 255)
    scan = documents._images_to_pdf([text_pages[0], white, text_pages[1]], tmp_path / "scan.pdf")
    pdf = pdfium.PdfDocument(str(scan))
    pdf.new_page(595, 842)  # nothing drawn on it at all
    pdf.save(str(corpus / "scan.pdf"))
    pdf.close()
    calls = tmp_path / "calls"
    monkeypatch.setenv("OCR_CALLS", str(calls))
    shadow_library(monkeypatch, tmp_path, "pytesseract", COUNTING)
    index = build(corpus, tmp_path / "idx", workers=1)
    assert list(index.documents) == ["scan.pdf"]
    assert calls.read_text() == "xx"  # pages 1 and 3; not the white one, nor the empty one


COUNTING = """
import hashlib
import os

def image_to_string(image, *args, **kwargs):
    with open(os.environ["OCR_CALLS"], "a") as calls:
        calls.write("x")
    word = "".join(chr(97 + int(c, 16)) for c in hashlib.sha256(image.tobytes()).hexdigest()[:12])
    return "Herkende tekst over de Wmo-aanvraag en de traplift in de gemeente Zuiderwaard: " + word
"""


def test_app_serves_with_bombs_in_the_corpus(tmp_path):
    """``python app.py`` builds before it serves: with a bomb a limit knows and one only the
    memory ceiling stops in its corpus folder, it still serves, and answers from the normal file."""
    import httpx

    from test_web import running_app

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "wijkteam.txt").write_text("Het wijkteam\n\nHet wijkteam helpt bewoners met vragen over zorg en geld.", encoding="utf-8")
    bombs.huge_page_pdf(corpus / "groot.pdf")
    bombs.stream_pdf(corpus / "stroom.pdf")
    with running_app(tmp_path, "--corpus", str(corpus), "--index", str(tmp_path / "index")) as url:
        from gradio_client import Client

        hits = Client(url, verbose=False).predict("wie helpt bewoners met zorg?", 3, "", api_name="/search")
        assert [h["source"] for h in hits] == ["wijkteam.txt"]
        assert httpx.get(url, timeout=30).status_code == 200
    log = (tmp_path / "app.log").read_text()
    assert "Overgeslagen: groot.pdf: te groot om te lezen" in log and "Overgeslagen: stroom.pdf: kon niet gelezen worden" in log
