"""Text out of files: one function per format, all returning an ``Extracted``.

    .txt .md     decoded as they are (UTF-8, else Windows-1252)
    .pdf         pypdfium2 (PDFium, Chrome's PDF engine), page by page, cleaned
    .docx        python-docx: paragraphs and tables in document order
    .odt         odfpy: the same for OpenDocument text
    .html .htm   trafilatura: the article, without menus, banners and footers
    .png .jpg .jpeg .tif .tiff, and PDF pages without a text layer:
                 OCR with Tesseract's Dutch model (``ocr.py``), cleaned as PDF text

The formats are listed once, in ``FORMATS``: suffixes, reader, upload limit
and fingerprint; the build, the upload form and the CLI read that list.

Whatever the format, the rest of the pipeline sees one plain text: passages
are offsets into ``Extracted.text``, headings the format marks are given as
spans, and a PDF's pages as the offsets where they start. A file that cannot
be read raises ``Unreadable`` with a short Dutch reason that the build, the CLI
and the page show as they are ("versleuteld", "geen tekstlaag (gescand?)").
A file beyond ``ReaderLimits`` (a web page too large, a DOCX or ODT whose parts
unpack to too much) is refused before it is parsed: "te groot om te lezen: …".
The build and uploads call these readers in processes of their own with a
memory ceiling (``isolation.py``), for whatever the limits do not foresee.

PDF text comes out of PDFium line by line, so the clean-up the format needs is
done here (no library does this for PDFium's output): words hyphenated at a
line end are joined, lines of one paragraph are joined, lines repeated at the
top or bottom of most pages (running headers, footers) and bare page numbers
are dropped, and ligatures become letters.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .isolation import size_nl
from .ocr import OcrJob, OcrSettings, frame_count, frame_image, image_problem, letters, missing_reason, page_image, scan_problem

__all__ = ["Extracted", "FORMATS", "Format", "LIMITS", "ReaderFailed", "ReaderLimits", "Unreadable", "SUFFIXES", "TEXT_SUFFIXES",
           "clean_pdf_pages", "decode_text", "extract", "format_of", "read_markdown"]


class Unreadable(ValueError):
    """A file this format's reader cannot read; ``str()`` is the reason, in Dutch."""


class ReaderFailed(Unreadable):
    """A reader library failed on a file in a way it does not report as a bad
    file: an exception inside it, its import, or memory. The file is skipped
    like any unreadable one; ``details`` keeps the traceback for the log, since
    the cause may be a bug (ours or the library's) rather than the file."""

    def __init__(self, reason: str, details: str = ""):
        super().__init__(reason)
        self.details = details


@dataclass(frozen=True)
class Extracted:
    text: str
    page_starts: tuple[int, ...] = ()  # offset in text where page 1, 2, ... starts; () if the format has no pages
    headings: tuple[tuple[int, int], ...] | None = None  # spans the format marks as headings; None: guess from the text
    title: str = ""  # the document's own title, if it has a usable one
    date: str = ""  # the day the file's metadata says it was made, ISO ("2024-03-12"); "" if it says none (``dates``)


# ------------------------------------------------------------------ text


def decode_text(raw: bytes) -> str:
    """Decode UTF-8 (with or without BOM), else cp1252, the usual Dutch Windows encoding.

    cp1252 leaves five byte values undefined; a file using them is not text
    in any encoding we know and is refused.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise Unreadable("geen UTF-8- of Windows-1252-tekst") from exc
    if "\x00" in text:
        raise Unreadable("bevat NUL-bytes: een binair bestand, geen tekst")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(data: bytes) -> Extracted:
    return Extracted(decode_text(data))


def read_markdown(data: bytes) -> Extracted:
    """Markdown as its text with the headings' marks taken off ("## Respijtzorg" -> "Respijtzorg",
    a setext underline dropped); everything else stays as written. markdown-it-py (CommonMark)
    finds the headings, so a "#" inside a code block or a paragraph is left alone.

    The headings are then guessed from the text, as for .txt, not passed on as marked spans:
    marked, every heading started a passage of its own, which moved passage boundaries and
    cost mixed-docs' paraphrased questions 0.050 mrr@10 (two questions from rank 1 to 2);
    guessed, the passages are those a .txt of the same text gets (BENCHMARKS.md, Round 4, titles)."""
    from markdown_it import MarkdownIt

    text = decode_text(data)
    tokens = MarkdownIt("commonmark").parse(text)
    replaced: dict[int, str] = {}  # line number -> the heading's own words ("" drops a setext underline)
    for opening, inline in zip(tokens, tokens[1:]):
        if opening.type == "heading_open" and opening.map:
            first, end = opening.map
            replaced[first] = " ".join(inline.content.split())
            for line in range(first + 1, end):
                replaced[line] = ""
    return Extracted("\n".join(replaced.get(n, line) for n, line in enumerate(text.split("\n"))))


# ----------------------------------------------------------- structured


class _TextBuilder:
    """Paragraphs joined by blank lines, with the spans of the headings among them."""

    def __init__(self):
        self.parts: list[str] = []
        self.length = 0
        self.headings: list[tuple[int, int]] = []

    def add(self, text: str, heading: bool = False) -> None:
        text = " ".join(text.split()) if heading else "\n".join(" ".join(line.split()) for line in text.splitlines())
        text = text.strip()
        if not text:
            return
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        if heading:
            self.headings.append((self.length, self.length + len(text)))
        self.parts.append(text)
        self.length += len(text)

    def add_table(self, rows: list[list[str]]) -> None:
        """Rows on their own lines, cells separated by " | ": a table stays readable text."""
        lines = [" | ".join(" ".join(cell.split()) for cell in row) for row in rows]
        self.add("\n".join(line for line in lines if line.strip(" |")))

    def result(self, title: str = "") -> Extracted:
        text = "".join(self.parts)
        if not title and self.headings and self.headings[0][0] == 0:
            title = text[slice(*self.headings[0])]  # a heading that opens the file; a later one names only its section
        # A file that marks no heading at all (a report typed in one "Normal"
        # style, common in Word files) is not one long section: its headings
        # are then guessed from the text, as for plain text and PDF.
        return Extracted(text, headings=tuple(self.headings) or None, title=title[:200])


def read_docx(data: bytes) -> Extracted:
    import io
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        out = _TextBuilder()
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                out.add_table([[cell.text for cell in row.cells] for row in block.rows])
                continue
            out.add(block.text, heading=_docx_heading(block))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, EOFError) as exc:
        raise Unreadable("beschadigd (geen leesbaar Word-bestand)") from exc
    return out.result(named_title(document.core_properties.title or ""))


_HEADING_STYLES = ("Heading", "Title", "Kop", "Titel")
_LEADS_ON = ":;,"  # a bold line ending so introduces what follows (a list) and heads nothing


def _docx_heading(paragraph) -> bool:
    """A heading by its style or outline level, or one made by hand: a short
    paragraph wholly in bold (how many Word reports are written, all in the
    "Normal" style; their bold headings may end with a period or a question
    mark, "1.2 Waarom niet zelf trainen?")."""
    style = paragraph.style
    if style is not None and (style.name or "").startswith(_HEADING_STYLES):
        return True
    ppr = paragraph._p.pPr  # python-docx has no accessor for the outline level
    if ppr is not None and ppr.find(_docx_qn("w:outlineLvl")) is not None:
        return True
    text = paragraph.text.strip()
    if not text or len(text) > 120 or text[-1] in _LEADS_ON:
        return False
    style_bold = bool(style is not None and style.font.bold)
    runs = [run for run in paragraph.runs if run.text.strip()]
    return bool(runs) and all(run.bold or (run.bold is None and style_bold) for run in runs)


def _docx_qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def read_odt(data: bytes) -> Extracted:
    import io

    from odf import teletype
    from odf.opendocument import load
    from odf.namespaces import TABLENS, TEXTNS
    from odf.table import TableRow

    try:
        document = load(io.BytesIO(data))
    except Exception as exc:  # odfpy lets zipfile's, KeyError and the XML parser's errors through
        raise Unreadable("beschadigd (geen leesbaar OpenDocument-bestand)") from exc
    out = _TextBuilder()

    def walk(element):
        for node in element.childNodes:
            kind = getattr(node, "qname", None)
            if kind == (TEXTNS, "h"):
                out.add(teletype.extractText(node), heading=True)
            elif kind == (TEXTNS, "p"):
                out.add(teletype.extractText(node))
            elif kind == (TABLENS, "table"):
                rows = [
                    [teletype.extractText(cell) for cell in row.childNodes if getattr(cell, "qname", None) == (TABLENS, "table-cell")]
                    for row in node.getElementsByType(TableRow)
                ]
                out.add_table(rows)
            elif kind is not None:
                walk(node)  # lists, sections, frames: their paragraphs count

    walk(document.text)
    return out.result()


def read_html(data: bytes) -> Extracted:
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(data, output_format="xml", include_tables=True, include_comments=False, favor_recall=True)
    if not xml:
        raise Unreadable("geen artikeltekst gevonden in deze webpagina")
    root = etree.fromstring(xml.encode("utf-8"))
    out = _TextBuilder()
    title = root.get("title") or ""
    if title:
        out.add(title, heading=True)
    for element in root.iter("head", "p", "item", "table", "quote", "code"):
        if element.tag == "table":
            out.add_table([["".join(cell.itertext()) for cell in row.iter("cell")] for row in element.iter("row")])
        elif not any(parent.tag in ("table", "item", "p", "quote") for parent in element.iterancestors()):
            text = "".join(element.itertext())
            out.add(("- " + text) if element.tag == "item" else text, heading=element.tag == "head")
    return out.result(title)


# ------------------------------------------------------------------- PDF

_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st", "\u00ad": ""})
# PDFium writes the hyphen of a word broken at a line end as U+FFFE (or U+0002) when the PDF marks it as such
_LINE_END_HYPHEN = re.compile(r"(?<=\w)[-\u2010\u2011\u00ad\x02\ufffe]$")
_PAGE_NUMBER = re.compile(r"^(?:[-–—\s]*\d{1,4}[-–—\s]*|(?:pagina|blz\.?|p\.|page)\s*\d{1,4}(?:\s*(?:van|/|of)\s*\d{1,4})?|\d{1,4}\s*(?:/|van)\s*\d{1,4})$", re.I)
_EDGE_LINES = 2  # a running header or footer is among the first or last lines of a page


def read_pdf(data: bytes, ocr: OcrJob | None = None) -> Extracted:
    """A PDF's text page by page; pages without a text layer are recognised with ``ocr`` (when given and possible)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise Unreadable("versleuteld (met een wachtwoord beveiligd)") from exc
        raise Unreadable("beschadigd (geen leesbare PDF)") from exc
    try:
        title = _metadata_title(pdf)
        pages, sizes = [], []
        for page in pdf:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            sizes.append(page.get_size())
            if not title and len(pages) == 1:
                title = _largest_type_title(textpage)
            textpage.close()
            page.close()
    except pdfium.PdfiumError as exc:
        raise Unreadable("beschadigd (een pagina is onleesbaar)") from exc
    finally:
        pdf.close()
    pages, missing = _recognise_scanned_pages(data, pages, sizes, ocr)
    if pages and title:
        pages[0] = join_title_lines(pages[0], title)
    text, starts = clean_pdf_pages(pages)
    if len(re.findall(r"\w", text)) < 10 * max(1, len(pages)):  # a page of text has hundreds of letters
        raise Unreadable("geen tekstlaag (gescand?)" + (f"; {missing}" if missing else ""))
    return Extracted(text, page_starts=starts, title=title[:200])


def _recognise_scanned_pages(data: bytes, pages: list[str], sizes: list[tuple[float, float]],
                             ocr: OcrJob | None) -> tuple[list[str], str | None]:
    """The pages with the scanned ones (no text layer) recognised: (pages, why OCR could not run, if it could not).
    Scans beyond OCR's limits (too many, a page too large) make the file unreadable."""
    settings = ocr.settings if ocr else OcrSettings(enabled=False)
    scanned = [n for n, page in enumerate(pages) if letters(page) < settings.min_letters]
    if not scanned:
        return pages, None
    missing = missing_reason(settings) if ocr else "OCR staat uit"
    if missing:
        return pages, missing
    problem = scan_problem({n: sizes[n] for n in scanned}, settings)
    if problem:
        raise Unreadable(problem)
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)  # opened once for all its scanned pages
    try:
        recognised = ocr.pages(scanned, lambda n: page_image(pdf, n, settings))
    finally:
        pdf.close()
    return [recognised.get(n, page) for n, page in enumerate(pages)], None


# ----------------------------------------------------------------- images


def read_image(data: bytes, ocr: OcrJob | None = None) -> Extracted:
    """A scan or photo of text (PNG, JPEG, TIFF; each page of a multi-page TIFF a page), read by OCR."""
    from PIL import UnidentifiedImageError

    settings = ocr.settings if ocr else OcrSettings(enabled=False)
    missing = missing_reason(settings) if ocr else "OCR staat uit"
    if missing:
        raise Unreadable(f"een afbeelding wordt alleen met OCR gelezen: {missing}")
    try:
        problem = image_problem(data, settings)
        frames = frame_count(data)
    except (UnidentifiedImageError, OSError) as exc:
        raise Unreadable("beschadigd (geen leesbare afbeelding)") from exc
    if problem:
        raise Unreadable(problem)
    try:
        recognised = ocr.pages(list(range(frames)), lambda n: frame_image(data, n, settings))  # one frame decoded at a time
    except OSError as exc:  # a frame Pillow cannot decode (truncated, damaged)
        raise Unreadable("beschadigd (geen leesbare afbeelding)") from exc
    text, starts = clean_pdf_pages([recognised[n] for n in range(frames)])
    if not text.strip():
        raise Unreadable("geen tekst gevonden (OCR las niets)")
    return Extracted(text, page_starts=starts)


# A title in a PDF's metadata that is only its producer's default, not the document's name.
_PLACEHOLDER_TITLE = re.compile(
    r"^(microsoft (word|powerpoint|excel)\b|untitled|naamloos|titel|title|(word |microsoft word )?document\s*\d*$|presentatie|slide \d)|"
    r"\.(docx?|pdf|odt|rtf|indd|pptx?|xlsx?)$", re.I)
_TITLE_CHARS = 1500  # a visual title sits among the first characters of page one


def _metadata_title(pdf) -> str:
    """The metadata title when it names the document."""
    return named_title(pdf.get_metadata_dict().get("Title") or "")


def named_title(title: str) -> str:
    """A title from a file's metadata when it names the document ("" for
    "Microsoft Word - nota.docx", "Untitled", "Word Document"): a placeholder
    would head every passage of the document in its embedding."""
    title = " ".join(title.split())
    letters = len(re.findall(r"[^\W\d_]", title))
    return title if letters >= 4 and not _PLACEHOLDER_TITLE.search(title) else ""


def _largest_type_title(textpage) -> str:
    """Page one's first run of text in its largest type, its lines joined: a
    title that wraps ("Schuldhulpverlening in" / "Nederland") stays whole.
    "" when nothing is set clearly larger than the body text."""
    import statistics

    import pypdfium2.raw as pdfium_c

    n = min(textpage.count_chars(), _TITLE_CHARS)
    text = textpage.get_text_range(0, n)
    if n == 0 or len(text) != n:  # characters outside the BMP: indexes and text no longer line up
        return ""
    sizes = [pdfium_c.FPDFText_GetFontSize(textpage.raw, i) for i in range(n)]
    letters = [size for ch, size in zip(text, sizes) if ch.isalpha()]
    if not letters or max(letters) < 1.15 * statistics.median(letters):
        return ""
    top, run = max(letters), []
    for ch, size in zip(text, sizes):
        if ch.isspace() or not ch.isprintable():
            run.append(" ")
        elif abs(size - top) < 0.5:
            run.append(ch)
        elif "".join(run).strip():
            break
    title = " ".join("".join(run).split())
    return title if len(re.findall(r"[^\W\d_]", title)) >= 4 else ""


def join_title_lines(page: str, title: str) -> str:
    """Page one with the document's title on one line where the page sets it over
    several ("Jaarverslag" / "Jongerencentrum De" / "Schakel 2023"): otherwise its
    last line would read as a section heading of its own."""
    words = title.split()
    if len(words) < 2:
        return page
    match = re.search(r"\s+".join(map(re.escape, words)), page[: 2 * _TITLE_CHARS])
    if match is None or "\n" not in match.group(0):
        return page
    # a blank line after it: joined, the title is as long as a line of body text and would run into it
    return page[: match.start()] + " ".join(words) + "\n\n" + page[match.end() :].lstrip(" ")


def _normalise(page: str) -> str:
    # U+FFFE is PDFium's mark for a hyphen at a line end that it already joined:
    # dropped inside a word ("maat-schappelijk"), kept before a capital ("Meinen-Bodewits")
    page = re.sub(r"\ufffe(?:\r\n)?(?=(.))", lambda m: "" if m.group(1).islower() else "-", page).replace("\ufffe", "")
    return page.translate(_LIGATURES).replace("\r\n", "\n").replace("\r", "\n")


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Lines (digits as #) found at the top or bottom of at least half the pages, and of two or more."""
    counts: dict[str, int] = {}
    for lines in pages:
        edge = {_edge_key(l) for l in _edges(lines)}
        for key in edge:
            counts[key] = counts.get(key, 0) + 1
    needed = max(2, (len(pages) + 1) // 2)
    return {key for key, n in counts.items() if n >= needed}


def _edge_size(lines: list[str]) -> int:
    """How many lines at each end may be a header or footer: two, but never half a short page."""
    return max(1, min(_EDGE_LINES, (len(lines) - 1) // 2))


def _edges(lines: list[str]) -> list[str]:
    lines = [l for l in lines if l.strip()]
    n = _edge_size(lines)
    return lines[:n] + lines[-n:] if len(lines) > 1 else lines


def _strip_edges(lines: list[str], running: set[str]) -> list[str]:
    def noise(line: str) -> bool:
        return _edge_key(line) in running or bool(_PAGE_NUMBER.match(line.strip()))

    n = _edge_size([l for l in lines if l.strip()])

    def first_kept(order) -> int:
        """Index of the first line, in ``order``, that is neither blank nor one of the n edge lines that are noise."""
        seen = 0
        for i in order:
            if not lines[i].strip():
                continue
            if seen >= n or not noise(lines[i]):
                return i
            seen += 1
        return -1

    head = first_kept(range(len(lines)))
    if head < 0:
        return []
    return lines[head : first_kept(range(len(lines) - 1, head - 1, -1)) + 1]


def _full_line_length(pages: list[list[str]]) -> int:
    """How long a full line of running text is in this document (in characters)."""
    lengths = sorted(len(" ".join(l.split())) for lines in pages for l in lines if l.strip())
    if not lengths:
        return 0
    return lengths[int(len(lengths) * 0.8)] if len(lengths) >= 10 else lengths[-1]


def _paragraphs(lines: list[str], full: int) -> list[str]:
    """Join the lines of each paragraph. A line continues into the next when
    that one starts with a lower-case letter (a Dutch sentence or heading does
    not), or when it is about as long as a full line; a blank line, or a
    clearly shorter one (a paragraph's last line, a heading), ends it."""
    lines = [" ".join(line.split()) for line in lines]
    paragraphs: list[str] = []
    current = ""
    for i, line in enumerate(lines):
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        if current and _LINE_END_HYPHEN.search(current):
            # "maat-" + "schappelijk" is one word; "Noord-" + "Brabant" and "2023-" + "2024" keep the hyphen
            broken_word = current[-2].isalpha() and line[0].islower() or current[-1] in "\u00ad\x02\ufffe"
            current = current[:-1] + ("" if broken_word else "-") + line
        else:
            current = f"{current} {line}" if current else line
        following = lines[i + 1] if i + 1 < len(lines) else ""
        continues = bool(following) and (
            following[0].islower() or len(line) >= 0.75 * full or bool(_LINE_END_HYPHEN.search(line))
        )
        if not continues:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return paragraphs


def clean_pdf_pages(pages: list[str]) -> tuple[str, tuple[int, ...]]:
    """The text of the pages, cleaned (module docstring), and where each page starts in it."""
    split = [_normalise(page).split("\n") for page in pages]
    running = _running_lines(split) if len(split) >= 2 else set()
    split = [_strip_edges(lines, running) for lines in split]
    full = _full_line_length(split)
    text, starts = "", []
    for lines in split:
        paragraphs = _paragraphs(lines, full)
        if text and paragraphs:
            continues = not re.search(r"[.!?:;…\"”’)]$", text) and paragraphs[0][:1].islower()
            if continues and _LINE_END_HYPHEN.search(text):
                text = text[:-1]
                separator = ""
            else:
                separator = " " if continues else "\n\n"
            text += separator
        starts.append(len(text))
        text += "\n\n".join(paragraphs)
    return text, tuple(starts)


# --------------------------------------------------------------- dispatch

MB = 1024 * 1024


@dataclass(frozen=True)
class ReaderLimits:
    """What one file may cost a reader: beyond these it is refused before it is
    parsed, as "te groot om te lezen". (OCR's limits, pages and pixels, are in
    ``OcrSettings``; every reader also runs under a memory ceiling, ``isolation.py``.)"""

    text_bytes: int = 50 * MB  # a .txt or .md file: 50 MB is some 25,000 pages, a dump rather than a document
    # A web page: trafilatura took 2 s on 1 MB of article, 22 s on 5 MB and more
    # than 10 minutes on 20 MB (BENCHMARKS.md); 5 MB is also the upload limit.
    html_bytes: int = 5 * MB
    # One part of a DOCX or ODT, unpacked, as its zip directory states it (Python's
    # zipfile never unpacks more than that): the XML is parsed whole, and
    # python-docx took 15 s and 0.17 GB for 20 MB of it. A 500-page report has 5-20 MB.
    zip_part_bytes: int = 100 * MB
    zip_total_bytes: int = 500 * MB  # all parts together, unpacked: both readers load every part (images too)

    def refusal(self, fmt: "Format", data: bytes) -> str | None:
        """Why a file of ``fmt`` is too large to read, or None."""
        return self.size_refusal(fmt, len(data)) or (self._zip_refusal(data) if fmt.zipped else None)

    def size_refusal(self, fmt: "Format", size: int) -> str | None:
        """Why a file of ``fmt`` and ``size`` bytes is too large to read, or None (its size alone decides)."""
        limit = getattr(self, fmt.size_limit) if fmt.size_limit else None
        if limit is not None and size > limit:
            return f"te groot om te lezen: {_size(size)}; hoogstens {_size(limit)} voor een {fmt.kind}"
        return None

    def _zip_refusal(self, data: bytes) -> str | None:
        import io
        import zipfile

        try:
            with zipfile.ZipFile(io.BytesIO(data)) as package:
                parts = package.infolist()
        except (zipfile.BadZipFile, ValueError, EOFError):
            return None  # not a zip after all: the reader says it is damaged
        largest = max(parts, key=lambda part: part.file_size, default=None)
        if largest is not None and largest.file_size > self.zip_part_bytes:
            return (f"te groot om te lezen: het onderdeel {largest.filename} is uitgepakt {_size(largest.file_size)}; "
                    f"hoogstens {_size(self.zip_part_bytes)}")
        total = sum(part.file_size for part in parts)
        if total > self.zip_total_bytes:
            return f"te groot om te lezen: uitgepakt {_size(total)}; hoogstens {_size(self.zip_total_bytes)}"
        return None


LIMITS = ReaderLimits()


def _size(n: int) -> str:
    return size_nl(n)


@dataclass(frozen=True)
class Format:
    """One file format: everything the build, the upload form and the CLI know of it."""

    suffixes: tuple[str, ...]
    read: Callable[..., Extracted]  # (data) -> Extracted, or (data, ocr) when ``ocr``
    reader_name: str  # in the reason shown when its reader fails: "fout in de PDF-lezer"
    upload_limit: int  # bytes an upload may have
    fingerprint: str  # "text": the decoded text's sha256 (re-encoding is no change); "bytes": the file's
    ocr: bool = False  # its reader recognises scanned pages (takes an ``OcrJob``)
    label: str = ""  # how the upload form names it (default: its suffixes)
    size_limit: str = ""  # the ``ReaderLimits`` field that bounds its size, if one does
    zipped: bool = False  # a zip package: its parts' unpacked sizes are checked before it is parsed
    kind: str = "bestand"  # how a reason names it: "te groot om te lezen: 40 MB; hoogstens 5 MB voor een webpagina"

    @property
    def name(self) -> str:
        return self.label or ", ".join(s.lstrip(".") for s in self.suffixes)


# Text is small (5 MB is a book); PDF, Word and OpenDocument files and scans
# carry fonts and images besides their text (a 300-page report with figures
# is commonly 20-40 MB).
FORMATS = (
    Format((".txt",), read_text, "het lezen van de tekst", 5 * MB, "text", size_limit="text_bytes", kind="tekstbestand"),
    Format((".md",), read_markdown, "het lezen van de Markdown-tekst", 5 * MB, "text", size_limit="text_bytes", kind="tekstbestand"),
    Format((".pdf",), read_pdf, "de PDF-lezer", 50 * MB, "bytes", ocr=True),
    Format((".docx",), read_docx, "de Word-lezer", 50 * MB, "bytes", zipped=True),
    Format((".odt",), read_odt, "de OpenDocument-lezer", 50 * MB, "bytes", zipped=True),
    Format((".html", ".htm"), read_html, "de HTML-lezer", 5 * MB, "bytes", label="html", size_limit="html_bytes", kind="webpagina"),
    Format((".png", ".jpg", ".jpeg", ".tif", ".tiff"), read_image, "de OCR", 50 * MB, "bytes", ocr=True, label="scans (png, jpg, tiff)"),
)
_BY_SUFFIX = {suffix: f for f in FORMATS for suffix in f.suffixes}
SUFFIXES = tuple(_BY_SUFFIX)
TEXT_SUFFIXES = tuple(s for s, f in _BY_SUFFIX.items() if f.fingerprint == "text")


def format_of(path: str | Path) -> Format | None:
    """The format of a file by its suffix (None: no reader takes it)."""
    return _BY_SUFFIX.get(Path(path or "").suffix.lower())


def extract(path: str | Path, data: bytes, ocr: OcrSettings | None = None,
            on_page: Callable[[int, int], None] | None = None, limits: ReaderLimits = LIMITS) -> Extracted:
    """The text of a file of a supported type (``Unreadable`` if it has none we can read).

    ``ocr``: how to recognise scanned pages and images (None: not at all);
    ``on_page(done, total)`` is called after each recognised page; ``limits``:
    what a file may cost (a file beyond them is refused before it is parsed).
    ``MemoryError`` is raised as it is: the caller that set a memory ceiling
    (``isolation.py``) knows what it was.
    """
    fmt = format_of(path)
    if fmt is None:
        raise Unreadable("onbekend bestandstype")
    if not data.strip():
        raise Unreadable("leeg bestand")
    refusal = limits.refusal(fmt, data)
    if refusal:
        raise Unreadable(refusal)
    try:
        if fmt.ocr:
            job = OcrJob(ocr, hashlib.sha256(data).hexdigest(), on_page) if ocr is not None else None
            extracted = fmt.read(data, job)
        else:
            extracted = fmt.read(data)
    except (Unreadable, MemoryError):
        raise
    except Exception as exc:  # ImportError, a library's own bug: this file only, never the build
        import traceback

        raise ReaderFailed(f"kon niet gelezen worden (fout in {fmt.reader_name})", traceback.format_exc()) from exc
    if not extracted.text.strip():
        raise Unreadable("leeg bestand" if fmt.fingerprint == "text" else "geen tekst gevonden")
    return _dated(extracted, path, data)


def _dated(extracted: Extracted, path: str | Path, data: bytes) -> Extracted:
    """The text with the day its file's metadata states it was made (``dates.stated_date``; never fails the file)."""
    import dataclasses

    from .dates import stated_date

    return dataclasses.replace(extracted, date=stated_date(path, data))
