"""PDF, Word, OpenDocument and web pages: real files written by real writers (fake model)."""

import functools
import os

import numpy as np
import pytest

import documents
import helpers
from helpers import live_passages
from vraagbaak import Index, VraagbaakError
from vraagbaak.corpus import add_document, scan_corpus
from vraagbaak.ocr import OcrSettings
from vraagbaak.readers import Unreadable, clean_pdf_pages, extract
from vraagbaak.search import hit_to_json


build = functools.partial(helpers.build, on_skip=lambda source, reason: None)  # skips are asserted on below, not printed


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "archief"
    folder.mkdir()
    documents.write_pdf(folder / "notitie.pdf")
    documents.write_docx(folder / "jaarverslag.docx")
    documents.write_odt(folder / "verslag.odt")
    documents.write_html(folder / "steunpunt.html")
    return folder


# ------------------------------------------------------------ PDF clean-up


def test_hyphenated_line_end_is_joined():
    text, _ = clean_pdf_pages(["De hulp is maat-\nschappelijk nodig en wordt betaald door de gemeente zelf."])
    assert "maatschappelijk" in text and "maat-" not in text


def test_a_hyphen_before_a_capital_or_a_number_is_kept():
    text, _ = clean_pdf_pages(["Wij helpen in Noord-\nBrabant en in de regio van de stad 2023-\n2024 mee."])
    assert text == "Wij helpen in Noord-Brabant en in de regio van de stad 2023-2024 mee."


def test_lines_of_a_paragraph_are_joined_and_paragraphs_kept():
    page = (
        "Sociaal werkers helpen mensen die het zelf niet meer redden en\n"
        "werken samen met vrijwilligers, mantelzorgers en de huisarts in\n"
        "de wijk, zodat hulp dichtbij en op tijd beschikbaar is.\n"
        "\n"
        "Een tweede alinea begint hier.\n"
    )
    text, _ = clean_pdf_pages([page])
    paragraphs = text.split("\n\n")
    assert paragraphs[0].startswith("Sociaal werkers") and "\n" not in paragraphs[0]
    assert "redden en werken samen" in paragraphs[0]
    assert paragraphs[1] == "Een tweede alinea begint hier."


def test_running_headers_footers_and_page_numbers_are_dropped():
    pages = [
        f"Gemeente Utrecht | Beleidsnota\nTekst van pagina {n} over de aanpak van eenzaamheid.\nPagina {n} van 3"
        for n in (1, 2, 3)
    ]
    pages[1] = pages[1].replace("Pagina 2 van 3", "- 2 -")
    text, starts = clean_pdf_pages(pages)
    assert "Beleidsnota" not in text and "Pagina" not in text and "- 2 -" not in text
    assert [text[s:].split(".")[0] for s in starts] == [f"Tekst van pagina {n} over de aanpak van eenzaamheid" for n in (1, 2, 3)]


def test_ligatures_become_letters():
    text, _ = clean_pdf_pages(["De ﬁnanciering van ofﬁciële ﬂexplekken."])
    assert text == "De financiering van officiële flexplekken."


def test_a_sentence_running_over_a_page_break_stays_one_sentence():
    text, starts = clean_pdf_pages(["Het budget voor het buurtwerk wordt elk jaar", "opnieuw vastgesteld door de raad."])
    assert text == "Het budget voor het buurtwerk wordt elk jaar opnieuw vastgesteld door de raad."
    assert text[starts[1]:].startswith("opnieuw")


# --------------------------------------------------------------- readers


def test_pdf_text_pages_header_and_hyphen(tmp_path):
    path = documents.write_pdf(tmp_path / "notitie.pdf")
    got = extract(path, path.read_bytes())
    assert len(got.page_starts) == 2
    assert "maatschappelijk werk" in got.text
    assert documents.HEADER not in got.text and "Pagina" not in got.text
    second = got.text[got.page_starts[1] :]
    assert second.startswith("Financiering van het buurtwerk") and "In Zwolle krijgt het opbouwwerk" in second
    assert "Zwolle" not in got.text[: got.page_starts[1]]


def test_docx_headings_and_table(tmp_path):
    path = documents.write_docx(tmp_path / "jaarverslag.docx")
    got = extract(path, path.read_bytes())
    assert [got.text[a:b] for a, b in got.headings] == ["Jaarverslag wijkteam", "Cijfers per wijk"]
    assert "Wijk | Gezinnen\nCentrum | 120\nNoord | 185" in got.text
    assert got.title == "Jaarverslag wijkteam"


def test_odt_headings_and_table(tmp_path):
    path = documents.write_odt(tmp_path / "verslag.odt")
    got = extract(path, path.read_bytes())
    assert [got.text[a:b] for a, b in got.headings] == ["Verslag van de bewonersavond", "Afspraken"]
    assert "Buurtcoach | belt elke oudere na twee weken" in got.text
    assert "eenzaamheid onder ouderen" in got.text


def test_html_keeps_the_article_and_drops_menu_banner_and_footer(tmp_path):
    path = documents.write_html(tmp_path / "steunpunt.html")
    got = extract(path, path.read_bytes())
    assert "lotgenotenavond voor jonge mantelzorgers" in got.text
    assert "Zo bereik je het steunpunt" in [got.text[a:b] for a, b in got.headings]
    for noise in ("Vacatures", "cookies", "Privacyverklaring", "Akkoord"):
        assert noise not in got.text


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: documents.write_scanned_pdf(p.with_suffix(".pdf")), "geen tekstlaag (gescand?)"),
        (lambda p: documents.write_pdf(p.with_suffix(".pdf"), password="geheim"), "versleuteld"),
        (lambda p: _truncated(documents.write_docx(p.with_suffix(".docx"))), "beschadigd"),
        (lambda p: _write(p.with_suffix(".pdf"), b"%PDF-1.7\n1 0 obj <<"), "beschadigd"),
        (lambda p: _write(p.with_suffix(".odt"), b"PK\x03\x04 niet echt"), "beschadigd"),
    ],
)
def test_unreadable_files_say_why(tmp_path, make, reason):
    path = make(tmp_path / "bestand")
    with pytest.raises(Unreadable, match=reason.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        extract(path, path.read_bytes())


def _truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _write(path, data):
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------ build


def test_build_finds_text_with_pages_and_headings(fake, library, tmp_path):
    index = build(library, tmp_path / "idx")
    assert index.report.skipped == []
    assert sorted(index.documents) == ["jaarverslag.docx", "notitie.pdf", "steunpunt.html", "verslag.odt"]
    hit = index.search("Zwolle opbouwwerk vast budget", mode="lexical", k=1)[0]
    assert (hit.source, hit.page) == ("notitie.pdf", 2)
    assert hit_to_json(hit)["page"] == 2
    first = index.search("preventie vroegsignalering maatschappelijk", mode="lexical", k=1)[0]
    assert (first.source, first.page) == ("notitie.pdf", 1)
    word = index.search("huisarts aanvragen Noord", mode="lexical", k=1)[0]
    assert (word.source, word.heading, word.page) == ("jaarverslag.docx", "Cijfers per wijk", None)
    texts = [p.text for p in live_passages(index)]
    for noise in (documents.HEADER, "Pagina 1", documents.MENU.split()[-1], "cookies", "Privacyverklaring"):
        assert not any(noise in t for t in texts), noise
    assert any("maatschappelijk werk" in t for t in texts)
    # offsets stay valid into the extracted text
    pdf = extract(library / "notitie.pdf", (library / "notitie.pdf").read_bytes()).text
    assert pdf[hit.start : hit.end] == hit.text and pdf[hit.answer_start : hit.answer_end] == hit.answer


def test_unreadable_files_are_skipped_and_named_and_the_rest_is_indexed(fake, library, tmp_path):
    documents.write_scanned_pdf(library / "scan.pdf")
    documents.write_pdf(library / "geheim.pdf", password="geheim")
    _truncated(documents.write_docx(library / "kapot.docx"))
    (library / "foto.jpg").write_bytes(b"\xff\xd8\xff")
    (library / "tekening.svg").write_bytes(b"<svg/>")
    warnings = []
    index = Index.build(library, tmp_path / "idx", model="fake", progress=False, on_skip=lambda s, r: warnings.append((s, r)),
                        ocr=OcrSettings(enabled=False))
    skipped = dict(index.report.skipped)
    assert skipped["scan.pdf"] == "geen tekstlaag (gescand?); OCR staat uit"
    assert skipped["geheim.pdf"].startswith("versleuteld")
    assert skipped["kapot.docx"].startswith("beschadigd")
    assert skipped["foto.jpg"] == "een afbeelding wordt alleen met OCR gelezen: OCR staat uit"
    assert skipped["tekening.svg"] == "onbekend bestandstype"
    assert sorted(warnings) == sorted(map(tuple, index.report.skipped))
    assert sorted(index.documents) == ["jaarverslag.docx", "notitie.pdf", "steunpunt.html", "verslag.odt"]


def test_changed_and_touched_pdfs(fake, library, tmp_path):
    build(library, tmp_path / "idx")
    pdf = library / "notitie.pdf"
    os.utime(pdf, ns=(1, 1))  # touched, same bytes: no change
    again = build(library, tmp_path / "idx")
    assert again.report.documents_unchanged == 4 and again.report.passages_embedded == 0
    # Rewritten with the same bytes (a DOCX written anew differs: its zip entries
    # carry the time of writing, so a second boundary made this test flaky).
    docx_file = library / "jaarverslag.docx"
    docx_file.write_bytes(docx_file.read_bytes())
    documents.write_html(library / "steunpunt.html")  # rewritten, same content
    third = build(library, tmp_path / "idx")
    assert third.report.documents_changed == 0 and third.report.documents_unchanged == 4


def test_symlinks_are_not_followed(fake, library, tmp_path):
    outside = tmp_path / "elders"
    outside.mkdir()
    (outside / "geheim.txt").write_text("Wachtwoorden van de directie.", encoding="utf-8")
    (library / "link.txt").symlink_to(outside / "geheim.txt")
    (library / "map").symlink_to(outside, target_is_directory=True)
    (library / "binnen.pdf").symlink_to(library / "notitie.pdf")
    skipped = []
    files = scan_corpus(library, lambda s, r: skipped.append((s, r)))
    assert "link.txt" not in [f.source for f in files]
    assert dict(skipped) == {
        "link.txt": "symbolische link naar buiten de corpusmap, niet gevolgd",
        "map": "symbolische link naar buiten de corpusmap, niet gevolgd",
        "binnen.pdf": "symbolische link naar binnen de corpusmap, niet gevolgd",
    }
    index = build(library, tmp_path / "idx")
    assert not any("Wachtwoorden" in p.text for p in live_passages(index))
    assert len(index.report.skipped) == 3


def test_upload_of_documents(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pdf = documents.write_pdf(tmp_path / "Nota 2024.PDF")
    saved = add_document(corpus, pdf.name, pdf.read_bytes())
    assert saved.name == "nota-2024.pdf" and saved.read_bytes() == pdf.read_bytes()
    scanned = documents.write_scanned_pdf(tmp_path / "scan.pdf")
    with pytest.raises(VraagbaakError, match=r"scan.pdf is niet leesbaar: geen tekstlaag \(gescand\?\)"):
        add_document(corpus, scanned.name, scanned.read_bytes())
    with pytest.raises(VraagbaakError, match="maximaal 50 MB"):
        add_document(corpus, "groot.pdf", b"%PDF", size=51 * 1024 * 1024)
    assert sorted(p.name for p in corpus.iterdir()) == ["nota-2024.pdf"]


def test_pdfiums_own_hyphen_mark():
    text, _ = clean_pdf_pages(["Het maat\ufffeschappelijk werk van Meinen\ufffe\r\nBodewits is nodig en wordt betaald."])
    assert text == "Het maatschappelijk werk van Meinen-Bodewits is nodig en wordt betaald."


def test_a_blank_line_still_ends_a_paragraph_on_pages_with_a_running_header():
    body = "Een regel van een alinea die ongeveer even lang is als alle andere regels hier"
    pages = [f"Nota Jeugdhulp\n{body}.\n\n{body} op pagina {n}.\nPagina {n}" for n in (1, 2)]
    text, _ = clean_pdf_pages(pages)
    assert text.split("\n\n") == [f"{body}.", f"{body} op pagina 1.", f"{body}.", f"{body} op pagina 2."]


def _titled_pdf(*, metadata_title: str | None, heading_size: int = 22) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    if metadata_title is not None:
        pdf.set_title(metadata_title)
    pdf.add_page()
    pdf.set_font("Helvetica", size=8)
    pdf.cell(0, 6, "Gemeente Zuiderwaard | 2024")  # a small line above the title
    pdf.ln(10)
    pdf.set_font("Helvetica", "B", heading_size)
    pdf.multi_cell(80, 10, "Schuldhulpverlening in Nederland en Vlaanderen")  # wraps over three lines
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Dit is de inleiding van de nota over schulden en de hulp die gemeenten bieden. " * 4)
    return bytes(pdf.output())


@pytest.mark.parametrize("metadata_title", [None, "Microsoft Word - nota.docx", "Untitled", "nota_def.pdf", ""])
def test_a_pdf_title_in_large_type_is_joined_over_its_lines(metadata_title):
    assert extract("nota.pdf", _titled_pdf(metadata_title=metadata_title)).title == "Schuldhulpverlening in Nederland en Vlaanderen"


def test_a_meaningful_metadata_title_wins_and_plain_pdfs_fall_back_to_the_first_line():
    assert extract("nota.pdf", _titled_pdf(metadata_title="Nota schuldhulp 2024")).title == "Nota schuldhulp 2024"
    plain = extract("nota.pdf", _titled_pdf(metadata_title=None, heading_size=11))
    assert plain.title == ""  # no larger type: the build takes the first line, as for any text


def _normal_style_docx(path, paragraphs, title=""):
    """A Word file typed in the "Normal" style only: (text, bold) paragraphs."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for text, bold in paragraphs:
        document.add_paragraph().add_run(text).bold = bold
    document.save(path)
    return path


def test_docx_bold_lines_are_headings_when_no_style_marks_them(tmp_path):
    path = _normal_style_docx(tmp_path / "visie.docx", [
        ("Visie op taalmodellen binnen de dienst", False),
        ("1.2 Waarom niet zelf trainen?", True),
        ("Een eigen model trainen kost miljoenen en jaren werk. Dat past niet bij een kleine dienst.", False),
        ("Let op, dit geldt voor:", True),  # a bold lead-in to a list heads nothing
        ("Een zin met één vet woord.", False),
    ], title="Word Document")
    got = extract(path, path.read_bytes())
    assert [got.text[a:b] for a, b in got.headings] == ["1.2 Waarom niet zelf trainen?"]
    assert got.title == ""  # "Word Document" is Word's placeholder; the build then takes the first line


def test_docx_without_any_heading_leaves_them_to_be_guessed(tmp_path, fake):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    path = _normal_style_docx(corpus / "notitie.docx", [
        ("Notitie over de buurtteams", False),
        ("Inleiding", False),
        ("De buurtteams werken sinds vorig jaar in elke wijk. Ze helpen gezinnen met schulden en zorgen. " * 4, False),
        ("Financiering", False),
        ("De gemeente betaalt de teams uit het budget voor de Wmo en de jeugdhulp. " * 4, False),
    ])
    got = extract(path, path.read_bytes())
    assert got.headings is None  # nothing is marked: the chunker guesses, as for plain text
    index = build(corpus, tmp_path / "index")
    assert index.documents["notitie.docx"] == "Notitie over de buurtteams"
    headings = {p.heading for p in live_passages(index)}
    assert {"Inleiding", "Financiering"} <= headings
