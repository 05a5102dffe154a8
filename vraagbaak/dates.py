"""Dates: the day a document says it was made, read from its metadata, and days in Dutch.

Every document in an index carries one day (``DocumentRecord.date``, ISO
"2024-03-12"): the date its own metadata states it was made, else the day its
file was last modified. Read from, per format (the first one present and
plausible):

    .pdf          CreationDate, else ModDate (the document information dictionary)
    .docx         dcterms:created, else dcterms:modified (docProps/core.xml)
    .odt          meta:creation-date, else dc:date (meta.xml)
    .html .htm    <meta> article:published_time, dcterms.created (or DC.date.created,
                  datePublished), else article:modified_time, dcterms.modified
                  (or DC.date.modified, dateModified, last-modified)
    text, scans   none: the file's modification time

The day is taken as the document writes it (a PDF's "D:20240312..." is 12
March whatever its time zone): no conversion can move it to the day before.
Metadata is hostile input like the rest of a file: every reader here reads a
bounded amount, resolves no XML entities, and a date it cannot read is no
date ("") rather than an error; a day before 1900 or after tomorrow is taken
for a default or a wrong clock, and the next candidate is tried.

Also here, for the page and the CLI: ``dutch_date`` ("12 maart 2024") and
``parse_day``, which reads the ``since``/``until`` of a search.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

from . import messages
from .errors import VraagbaakError

__all__ = ["MONTHS", "dutch_date", "dutch_moment", "file_date", "parse_day", "stated_date"]

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")
_XML_LIMIT = 1 << 20  # bytes of a metadata part read at most (a real one is a few KB; a zip bomb is not read whole)
_HTML_HEAD = 512 * 1024  # bytes of a web page searched for its <meta> dates (they sit in <head>)
_ISO_DAY = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})")
_DUTCH_DAY = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\s*$")


# ----------------------------------------------------------------- days


def _plausible(day: dt.date | None) -> str:
    """The day as ISO text when it can be a document's date, else ""."""
    if day is None or not dt.date(1900, 1, 1) <= day <= dt.date.today() + dt.timedelta(days=1):
        return ""
    return day.isoformat()


def _day(year, month, day) -> dt.date | None:
    try:
        return dt.date(int(year), int(month), int(day))
    except (TypeError, ValueError):
        return None


def iso_day(text) -> str:
    """The day an ISO 8601 date or timestamp names ("2024-03-12T09:30:00Z" -> "2024-03-12"; "" if none)."""
    found = _ISO_DAY.match(text) if isinstance(text, str) else None
    return _plausible(_day(*found.groups())) if found else ""


def pdf_day(text) -> str:
    """The day of a PDF date string ("D:20240312093000+01'00'" -> "2024-03-12"; "" if none).

    PDF 1.7 section 7.9.4: "D:YYYYMMDDHHmmSSOHH'mm'", every part after the year
    optional; some producers leave out the "D:" or write ISO dates instead.
    """
    if not isinstance(text, str):
        return ""
    found = re.match(r"^\s*(?:D:)?(\d{4})(\d{2})?(\d{2})?", text)
    if found and (found.group(2) or not re.match(r"^\s*(?:D:)?\d{4}-", text)):
        year, month, day = found.group(1), found.group(2) or 1, found.group(3) or 1
        return _plausible(_day(year, month, day))
    return iso_day(text.strip().removeprefix("D:"))


def file_date(mtime_ns: int) -> str:
    """The local day of a file's modification time (what a document without a stated date is dated by)."""
    try:
        return dt.datetime.fromtimestamp(mtime_ns / 1e9).date().isoformat()
    except (OverflowError, OSError, ValueError):
        return ""


def parse_day(value, what: str = "datum") -> str | None:
    """``since``/``until`` of a search as an ISO day: a ``date``, a ``datetime``, "2024-03-12" or
    "12-03-2024" (None stays None; "" is None too). Anything else is refused in Dutch."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        if not value.strip():
            return None
        found = _ISO_DAY.match(value)
        day = _day(*found.groups()) if found and len(value.strip()) in range(8, 40) else None
        if day is None and (dutch := _DUTCH_DAY.match(value)):
            day = _day(dutch.group(3), dutch.group(2), dutch.group(1))
        if day is not None:
            return day.isoformat()
    raise VraagbaakError(messages.not_a_date(what, value))


def dutch_date(value) -> str:
    """"12 maart 2024" for 2024-03-12 (an ISO day, a ``date`` or a ``datetime``); "" for no date."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        found = _ISO_DAY.match(value)
        value = _day(*found.groups()) if found else None
    if not isinstance(value, dt.date):
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def dutch_moment(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """When something happened, as a status line says it: "om 14:32" today, "gisteren om 14:32",
    else "12 maart 2024 om 14:32" ("" for None). ``moment`` and ``now`` in the same time zone."""
    if moment is None:
        return ""
    now = now or dt.datetime.now(moment.tzinfo)
    clock = moment.strftime("%H:%M")
    if moment.date() == now.date():
        return f"om {clock}"
    if moment.date() == now.date() - dt.timedelta(days=1):
        return f"gisteren om {clock}"
    return f"{dutch_date(moment)} om {clock}"


# ------------------------------------------------------------- metadata


def stated_date(path: str | Path, data: bytes | None = None) -> str:
    """The day the document at ``path`` (its bytes ``data``, if already read) says it was made; "" if it says none.

    Never raises for a bad file: its reader says what is wrong with it.
    """
    reader = _READERS.get(Path(path).suffix.lower())
    if reader is None:
        return ""
    try:
        source = data if data is not None else str(path)
        return next((day for day in reader(source) if day), "")
    except Exception:  # noqa: BLE001 - metadata of a damaged or hostile file: no date, the text reader reports the damage
        return ""


def _pdf_days(source):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(source)
    try:
        info = pdf.get_metadata_dict()
    finally:
        pdf.close()
    return [pdf_day(info.get("CreationDate")), pdf_day(info.get("ModDate"))]


def _zip_part(source, name: str):
    """The parsed XML of one part of a zip file (docx, odt), read to at most ``_XML_LIMIT`` bytes."""
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
        with archive.open(name) as part:
            raw = part.read(_XML_LIMIT + 1)
    if len(raw) > _XML_LIMIT:
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(raw, parser)


_DCTERMS = "{http://purl.org/dc/terms/}"
_ODF_META = "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}"
_DC = "{http://purl.org/dc/elements/1.1/}"


def _docx_days(source):
    core = _zip_part(source, "docProps/core.xml")
    if core is None:
        return []
    return [iso_day(core.findtext(f"{_DCTERMS}created")), iso_day(core.findtext(f"{_DCTERMS}modified"))]


def _odt_days(source):
    meta = _zip_part(source, "meta.xml")
    if meta is None:
        return []
    return [iso_day(meta.findtext(f".//{_ODF_META}creation-date")), iso_day(meta.findtext(f".//{_DC}date"))]


# <meta> names of the day a web page was published, then of the day it was last changed (lower case)
_HTML_CREATED = ("article:published_time", "dcterms.created", "dc.date.created", "datepublished", "dcterms.issued",
                 "dc.date.issued", "og:published_time")
_HTML_MODIFIED = ("article:modified_time", "dcterms.modified", "dc.date.modified", "datemodified", "last-modified",
                  "og:updated_time", "dc.date")


def _html_days(source):
    from lxml import html

    if isinstance(source, bytes):
        raw = source[:_HTML_HEAD]
    else:
        with open(source, "rb") as f:
            raw = f.read(_HTML_HEAD)
    root = html.fromstring(raw)
    found: dict[str, str] = {}
    for meta in root.iter("meta"):
        name = (meta.get("property") or meta.get("name") or meta.get("itemprop") or meta.get("http-equiv") or "").strip().lower()
        if name and name not in found:
            found[name] = meta.get("content") or ""
    return [_web_day(found.get(name, "")) for name in (*_HTML_CREATED, *_HTML_MODIFIED)]


def _web_day(text: str) -> str:
    """An ISO date, or an HTTP date ("Tue, 12 Mar 2024 09:30:00 GMT", as http-equiv last-modified has it)."""
    day = iso_day(text)
    if day or not text.strip():
        return day
    from email.utils import parsedate_to_datetime

    try:
        return _plausible(parsedate_to_datetime(text).date())
    except (TypeError, ValueError, IndexError):
        return ""


_READERS = {".pdf": _pdf_days, ".docx": _docx_days, ".odt": _odt_days, ".html": _html_days, ".htm": _html_days}
