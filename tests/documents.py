"""Real test documents, written by the libraries people's files come from."""

from __future__ import annotations

import io
from pathlib import Path

PAGE_ONE = (
    "Het sociaal werk in Nederland staat voor een grote opgave. Gemeenten vragen om "
    "preventie en vroegsignalering, dichtbij de bewoners. Dat vraagt om een brede blik op het "
    "maat-\nschappelijk werk en op de samenwerking met de eerste lijn."
)
PAGE_TWO = (
    "De financiering van het buurtwerk verschilt sterk per gemeente. In Zwolle krijgt het "
    "opbouwwerk een vast budget voor vier jaar. Daardoor kunnen sociaal werkers "
    "langlopende projecten met bewoners opzetten."
)
HEADER = "Beleidsnotitie Sociaal Domein 2024"


def write_pdf(path: Path, *, password: str | None = None) -> Path:
    """Two pages of Dutch text with a running header, page numbers in the
    footer and a word hyphenated at a line end ("maat-" / "schappelijk")."""
    from fpdf import FPDF

    class Notitie(FPDF):
        def header(self):
            self.set_font("Helvetica", size=9)
            self.cell(0, 8, HEADER, align="C")
            self.ln(12)

        def footer(self):
            self.set_y(-15)
            self.set_font("Helvetica", size=9)
            self.cell(0, 8, f"Pagina {self.page_no()}", align="C")

    pdf = Notitie()
    if password:
        pdf.set_encryption(owner_password="eigenaar", user_password=password)
    pdf.set_font("Helvetica", size=11)
    for heading, body in (("Inleiding: de opgave", PAGE_ONE), ("Financiering van het buurtwerk", PAGE_TWO)):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 13)
        pdf.cell(0, 8, heading)
        pdf.ln(10)
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, body)
    pdf.output(str(path))
    return path


def write_scanned_pdf(path: Path) -> Path:
    """A page that is only a picture of text, as a scanner makes it."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 200), "white")
    ImageDraw.Draw(image).text((20, 80), "Gescande brief over de Wmo-aanvraag", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(buffer, x=10, y=10, w=180)
    pdf.output(str(path))
    return path


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Jaarverslag wijkteam", level=1)
    document.add_paragraph(
        "Het wijkteam hielp dit jaar ruim driehonderd gezinnen met schulden en opvoedvragen. "
        "De meeste gezinnen kwamen zelf langs op het spreekuur in het wijkcentrum; een kwart werd "
        "doorverwezen door school of consultatiebureau. Wachtlijsten waren er niet."
    )
    document.add_heading("Cijfers per wijk", level=2)
    table = document.add_table(rows=3, cols=2)
    for row, cells in zip(table.rows, [("Wijk", "Gezinnen"), ("Centrum", "120"), ("Noord", "185")]):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    document.add_paragraph("In Noord kwamen de meeste aanvragen binnen via de huisarts.")
    document.save(str(path))
    return path


def write_odt(path: Path) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, P

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text="Verslag van de bewonersavond"))
    document.text.addElement(P(text="Ruim zestig bewoners spraken over eenzaamheid onder ouderen in de wijk."))
    document.text.addElement(H(outlinelevel=2, text="Afspraken"))
    table = Table()
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for cells in (("Wie", "Wat"), ("Buurtcoach", "belt elke oudere na twee weken")):
        row = TableRow()
        for value in cells:
            cell = TableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    document.text.addElement(table)
    document.save(str(path))
    return path


MENU = "Home Over ons Nieuws Contact Vacatures"
COOKIES = "Deze website gebruikt cookies. Accepteer alle cookies of stel je voorkeuren in."
FOOTER = "Copyright Stichting Welzijn Oost. Privacyverklaring. Disclaimer. Toegankelijkheid."


def write_html(path: Path) -> Path:
    paragraphs = "".join(
        f"<p>{text}</p>"
        for text in (
            "Mantelzorgers in onze gemeente kunnen sinds dit voorjaar terecht bij een vast steunpunt. "
            "Daar krijgen ze advies over respijtzorg en over de mantelzorgwaardering.",
            "Het steunpunt is open op dinsdag en donderdag, en organiseert elke maand een lotgenotenavond "
            "voor jonge mantelzorgers die naast school voor een ouder zorgen.",
            "Wie een aanvraag wil doen voor respijtzorg, kan bellen of langskomen zonder afspraak. "
            "Een consulent kijkt samen met de mantelzorger wat nodig is en hoe lang.",
        )
    )
    page = f"""<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Steunpunt mantelzorg geopend</title></head>
<body>
<div class="cookie-banner" id="cookie-consent"><p>{COOKIES}</p><button>Akkoord</button></div>
<header><nav class="menu"><ul>{''.join(f'<li><a href="/{w.lower()}">{w}</a></li>' for w in MENU.split())}</ul></nav></header>
<main><article>
<h1>Steunpunt mantelzorg geopend</h1>
{paragraphs}
<h2>Zo bereik je het steunpunt</h2>
<p>Het steunpunt zit in het wijkcentrum aan de Dorpsstraat en is bereikbaar met de bus vanaf het station.</p>
</article></main>
<footer><p>{FOOTER}</p></footer>
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path


def write_large_pdf(path: Path, megabytes: int) -> Path:
    """The two-page note plus a page with a photo-like picture (random noise, which
    does not compress), so that the file is about ``megabytes`` MB, as scanned
    annexes make real reports."""
    import numpy as np
    from fpdf import FPDF
    from PIL import Image

    side = int((megabytes * 1024 * 1024 / 3) ** 0.5)
    noise = np.random.default_rng(7).integers(0, 256, (side, side, 3), dtype=np.uint8)
    picture = path.with_suffix(".png")
    Image.fromarray(noise).save(picture, compress_level=1)
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for body in (PAGE_ONE, PAGE_TWO):
        pdf.add_page()
        pdf.multi_cell(0, 6, body)
    pdf.add_page()
    pdf.image(str(picture), x=10, y=10, w=150)
    pdf.output(str(path))
    picture.unlink()
    return path


def page_images(pdf_path: Path, dpi: int = 200) -> list:
    """The pages of a PDF as greyscale pictures, as a scanner makes them."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        return [page.render(scale=dpi / 72, grayscale=True).to_pil() for page in pdf]
    finally:
        pdf.close()


def _images_to_pdf(images: list, path: Path, text_pages: dict[int, tuple[str, str]] | None = None) -> Path:
    """A PDF with each image as a full page; ``text_pages``: page -> (heading, body) set as real text instead."""
    from fpdf import FPDF

    pdf = FPDF()
    for n, image in enumerate(images):
        pdf.add_page()
        if text_pages and n in text_pages:
            heading, body = text_pages[n]
            pdf.set_font("Helvetica", "B", 13)
            pdf.cell(0, 8, heading)
            pdf.ln(10)
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(0, 6, body)
        else:
            pdf.image(image, x=0, y=0, w=210, h=297)  # the whole A4 page: no text layer at all
    pdf.output(str(path))
    return path


def write_image_only_pdf(path: Path) -> Path:
    """The two-page note (``write_pdf``) as a scan: each page only a picture, no text layer."""
    source = write_pdf(path.with_name(path.stem + "-bron.pdf"))
    images = page_images(source)
    source.unlink()
    return _images_to_pdf(images, path)


def write_mixed_pdf(path: Path) -> Path:
    """Page 1 real text, page 2 a scan (a signed letter appended to a typed note)."""
    source = write_pdf(path.with_name(path.stem + "-bron.pdf"))
    images = page_images(source)
    source.unlink()
    return _images_to_pdf(images, path, text_pages={0: ("Inleiding: de opgave", PAGE_ONE)})


def write_png(path: Path) -> Path:
    source = write_pdf(path.with_name(path.stem + "-bron.pdf"))
    page_images(source)[1].save(path)  # page two: the Zwolle paragraph
    source.unlink()
    return path


def write_tiff(path: Path) -> Path:
    """Both pages of the note in one multi-page TIFF, as a document scanner saves them."""
    source = write_pdf(path.with_name(path.stem + "-bron.pdf"))
    first, *rest = page_images(source)
    first.save(path, save_all=True, append_images=rest, compression="tiff_deflate")
    source.unlink()
    return path


LETTER = (
    ("Besluit op uw aanvraag", "Op 3 maart heeft u een traplift aangevraagd bij de gemeente Zuiderwaard. "
     "Wij hebben uw aanvraag beoordeeld volgens de Wet maatschappelijke ondersteuning."),
    ("Ons besluit", "U krijgt de traplift in bruikleen. De leverancier neemt binnen zes weken contact met u op "
     "om een afspraak voor de plaatsing te maken. Bent u het niet eens met dit besluit, dan kunt u bezwaar maken."),
)


def write_scanned_letter(path: Path) -> Path:
    """A two-page Wmo decision as a scan (pictures only), unlike any other test text."""
    from fpdf import FPDF

    source = path.with_name(path.stem + "-bron.pdf")
    pdf = FPDF()
    for heading, body in LETTER:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 10, heading)
        pdf.ln(14)
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 7, body)
    pdf.output(str(source))
    images = page_images(source)
    source.unlink()
    return _images_to_pdf(images, path)
