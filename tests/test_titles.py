"""Titles and headings read like a person would write them: the three files a new user made
(../shared/fixtures), Markdown's heading marks, a first line broken off mid-phrase."""

import pytest

from conftest import SHARED
from helpers import build, live_passages
from vraagbaak.corpus import document_title, read_document
from vraagbaak.ocr import OcrSettings
from vraagbaak.readers import read_markdown

FIXTURES = SHARED / "fixtures"


def test_a_pdf_title_set_over_three_lines_is_one_line_of_text_and_no_heading():
    document = read_document(FIXTURES / "jaarverslag-de-schakel.pdf", "jaarverslag-de-schakel.pdf")
    assert document.title == "Jaarverslag Jongerencentrum De Schakel 2023"
    first_paragraph = document.text.split("\n\n")[0]
    assert first_paragraph == "Jaarverslag Jongerencentrum De Schakel 2023"
    assert "\n\nFinanciering\n\n" in document.text  # the headings below stay headings


def test_the_jaarverslag_passages_carry_no_piece_of_the_title_as_a_heading(fake, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "jaarverslag.pdf").write_bytes((FIXTURES / "jaarverslag-de-schakel.pdf").read_bytes())
    index = build(corpus, tmp_path / "index")
    headings = {p.heading for p in live_passages(index)}
    assert "Schakel 2023" not in headings and "Jaarverslag Jongerencentrum De Schakel 2023" in headings


@pytest.mark.integration
def test_a_photographed_letter_is_titled_by_its_whole_first_line():
    document = read_document(FIXTURES / "brief-lindenlaan.png", "brief-lindenlaan.png", OcrSettings())
    assert document.title == "Brief aan de bewoners van de Lindenlaan"


@pytest.mark.integration
def test_a_scanned_pdf_is_titled_from_its_text_not_its_file_name():
    document = read_document(FIXTURES / "knelpunten-scan.pdf", "knelpunten-scan.pdf", OcrSettings())
    assert document.title == "Knelpunten"


def test_a_first_line_broken_off_mid_phrase_continues_and_a_whole_one_does_not():
    assert document_title("Brief aan de bewoners van de\nLindenlaan\nBeste bewoners,", "x.txt") == "Brief aan de bewoners van de Lindenlaan"
    assert document_title("Jaarverslag 2023\nInleiding", "x.txt") == "Jaarverslag 2023"
    assert document_title("Een\n\nAlleen deze tekst.", "een.txt") == "Een"  # one word is no broken-off phrase
    assert document_title("\n\n", "map/notitie.txt") == "notitie"


MARKDOWN = """# Mantelzorg

Mantelzorg is onbetaalde zorg voor een naaste. Veel mantelzorgers combineren die zorg met werk.

## Respijtzorg
Respijtzorg neemt de zorg tijdelijk over, zodat de mantelzorger even op adem kan komen.

```
# een regel code, geen kop
```

Vervanging thuis
----------------
Een vrijwilliger komt een dagdeel thuis.
"""


def test_markdown_heading_marks_are_taken_off_and_the_rest_kept():
    got = read_markdown(MARKDOWN.encode())
    lines = got.text.splitlines()
    assert {"Mantelzorg", "Respijtzorg", "Vervanging thuis"} <= set(lines)
    assert "## " not in got.text and "---" not in got.text
    assert "# een regel code, geen kop" in got.text  # a code block is not a heading


def test_no_passage_answer_title_or_heading_of_a_markdown_file_holds_a_heading_mark(fake, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    without_code = MARKDOWN.replace("```\n# een regel code, geen kop\n```\n", "")  # a code line may start with "#"
    (corpus / "mantelzorg.md").write_text(without_code, encoding="utf-8")
    index = build(corpus, tmp_path / "index")
    passages = live_passages(index)
    assert index.documents == {"mantelzorg.md": "Mantelzorg"}
    assert {p.heading for p in passages} <= {"Mantelzorg", "Respijtzorg", "Vervanging thuis"}
    for p in passages:
        for line in (p.text.splitlines() + [p.heading]):
            assert not line.startswith("#"), line
    hits = index.search("wat is respijtzorg?", k=3)
    assert hits and all("##" not in h.answer and "##" not in h.text for h in hits)
