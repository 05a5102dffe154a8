"""Files made to exhaust a reader (issue 35), written at test time: small on disk, huge once read.

Each writes the file and returns its path. What each costs the readers
without their limits is in the issue and in BENCHMARKS.md ("Round 4").
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

GB = 1024**3


def huge_page_pdf(path: Path, inches: int = 200) -> Path:
    """One page of ``inches`` x ``inches`` (PDF's largest page is 200 inches) with a black
    square on it, so that it is not blank: no text layer, so OCR renders it; at 300 dpi
    that is 60,000 x 60,000 pixels."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pdf = pdfium.PdfDocument.new()
    page = pdf.new_page(inches * 72, inches * 72)
    square = pdfium_c.FPDFPageObj_CreateNewRect(72, 72, 72, 72)
    pdfium_c.FPDFPageObj_SetFillColor(square, 0, 0, 0, 255)
    pdfium_c.FPDFPath_SetDrawMode(square, pdfium_c.FPDF_FILLMODE_ALTERNATE, False)
    pdfium_c.FPDFPage_InsertObject(page.raw, square)
    pdfium_c.FPDFPage_GenerateContent(page.raw)
    pdf.save(str(path))
    return path


def blank_pdf(path: Path, pages: int = 2000) -> Path:
    """``pages`` empty A4 pages (~250 KB): each a scan with nothing on it."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(595, 842)
    pdf.save(str(path))
    return path


def tiff_bomb(path: Path, frames: int = 60, side: int = 10_000) -> Path:
    """A multi-page TIFF of ``frames`` white pages of ``side`` x ``side`` pixels, CCITT group 4 (~400 KB for 60).

    Pillow takes a third of a second to encode each such page, so one is
    encoded and its compressed strips written ``frames`` times, each copy
    with its own directory (IFD), as a scanner's multi-page file has."""
    from PIL import Image

    one = io.BytesIO()
    Image.new("1", (side, side), 1).save(one, format="TIFF", compression="group4")
    Image.MAX_IMAGE_PIXELS, limit = None, Image.MAX_IMAGE_PIXELS  # read back: Pillow would warn of its size
    try:
        page = Image.open(one)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    with page:
        tags = page.tag_v2
        offsets, counts, rows, photometric = tags[273], tags[279], tags[278], tags[262]
    raw = one.getvalue()
    assert len(offsets) > 1  # the arrays below are stored apart from the directory, as they are for two or more strips
    strips = [raw[o : o + c] for o, c in zip(offsets, counts)]
    data = b"".join(strips)
    n = len(strips)
    entries = 10  # width, height, bits, compression, photometric, offsets, samples, rows, counts, resolution unit
    ifd_size = 2 + 12 * entries + 4
    frame_size = len(data) + 8 * n + ifd_size  # strips, the offsets and counts arrays, the directory
    with open(path, "wb") as out:
        out.write(b"II*\x00" + struct.pack("<I", 8 + len(data) + 8 * n))
        position = 8
        for frame in range(frames):
            start = position
            offsets_at = start + len(data)
            counts_at = offsets_at + 4 * n
            ifd_at = counts_at + 4 * n
            out.write(data)
            strip_offsets = []
            at = start
            for strip in strips:
                strip_offsets.append(at)
                at += len(strip)
            out.write(struct.pack(f"<{n}I", *strip_offsets))
            out.write(struct.pack(f"<{n}I", *(len(s) for s in strips)))
            next_ifd = ifd_at + ifd_size + len(data) + 8 * n if frame + 1 < frames else 0
            out.write(struct.pack("<H", entries))
            for tag, kind, count, value in ((256, 4, 1, side), (257, 4, 1, side), (258, 3, 1, 1), (259, 3, 1, 4),
                                             (262, 3, 1, photometric), (273, 4, n, offsets_at), (277, 3, 1, 1),
                                             (278, 4, 1, rows), (279, 4, n, counts_at), (296, 3, 1, 1)):
                out.write(struct.pack("<HHII", tag, kind, count, value))
            out.write(struct.pack("<I", next_ifd))
            position = ifd_at + ifd_size
            assert position - start == frame_size
    return path


def png_bomb(path: Path, side: int = 13_000) -> Path:
    """One white ``side`` x ``side`` PNG (169 million pixels for 13,000)."""
    from PIL import Image

    Image.new("L", (side, side), 255).save(path, optimize=False, compress_level=9)
    return path


def stream_pdf(path: Path, inflated: int = int(1.2 * GB)) -> Path:
    """A one-page PDF whose content stream inflates to ``inflated`` bytes of empty text
    objects (about 2 MB for 1.2 GB): no reader limit sees it, only a memory ceiling."""
    block = b"BT ET\n" * (_BLOCK // 6)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    middle = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeats = max(1, inflated // len(block))
    adler = 1
    for _ in range(repeats):
        adler = zlib.adler32(block, adler)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    stream = b"\x78\xda" + middle * repeats + final + struct.pack(">I", adler)  # a zlib stream: header, deflate, checksum
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
               b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<<>>>>",
               b"<</Length %d/Filter/FlateDecode>>stream\n" % len(stream) + stream + b"\nendstream"]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def huge_html(path: Path, megabytes: int = 40) -> Path:
    """A web page of ``megabytes`` MB of paragraphs."""
    paragraph = "<p>Het wijkteam helpt bewoners met vragen over zorg, geld en wonen in de buurt.</p>\n"
    count = megabytes * 1024 * 1024 // len(paragraph)
    path.write_text(f"<html><head><title>Groot</title></head><body><article>{paragraph * count}</article></body></html>",
                    encoding="utf-8")
    return path


# -------------------------------------------------------------- zip bombs

_WORD_PARAGRAPH = b"<w:p><w:r><w:t>" + b"wijkteam " * 100 + b"</w:t></w:r></w:p>"


def docx_bomb(path: Path, inflated: int = int(1.2 * GB)) -> Path:
    """A Word file whose ``word/document.xml`` inflates to ``inflated`` bytes (about 3 MB zipped for 1.2 GB).

    The other parts are those of an empty python-docx document; the XML is
    valid WordprocessingML, so a reader without limits parses all of it."""
    import docx

    empty = io.BytesIO()
    docx.Document().save(empty)
    with zipfile.ZipFile(empty) as package:
        xml = package.read("word/document.xml")
        parts = {name: package.read(name) for name in package.namelist() if name != "word/document.xml"}
    head, tail = xml.split(b"<w:body>", 1)
    return _write_bomb_zip(path, parts, "word/document.xml", head + b"<w:body>", _WORD_PARAGRAPH, tail, inflated)


def odt_bomb(path: Path, inflated: int = int(1.2 * GB)) -> Path:
    """An OpenDocument text whose ``content.xml`` inflates to ``inflated`` bytes."""
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    document.text.addElement(P(text="MARKER"))
    empty = io.BytesIO()
    document.save(empty)
    with zipfile.ZipFile(empty) as package:
        xml = package.read("content.xml")
        parts = {name: package.read(name) for name in package.namelist() if name != "content.xml"}
    marker = xml.index(b"MARKER")
    head, tail = xml[: xml.rindex(b"<text:p", 0, marker)], xml[xml.index(b"</text:p>", marker) + len(b"</text:p>"):]
    paragraph = b"<text:p>" + b"wijkteam " * 100 + b"</text:p>"
    return _write_bomb_zip(path, parts, "content.xml", head, paragraph, tail, inflated, first=("mimetype",))


_BLOCK = 1024 * 1024


def _write_bomb_zip(path: Path, parts: dict[str, bytes], name: str, head: bytes, unit: bytes, tail: bytes, inflated: int,
                    first: tuple[str, ...] = ()) -> Path:
    """A zip of ``parts`` plus ``name`` = head + unit * n + tail, about ``inflated`` bytes, with true sizes and CRC.

    Deflating a gigabyte takes seconds; instead one megabyte of ``unit`` is
    deflated once and its compressed bytes repeated: after a full flush
    deflate starts afresh, so the repeats are a valid stream of the repeated text."""
    block = unit * (_BLOCK // len(unit))
    repeats = max(1, (inflated - len(head) - len(tail)) // len(block))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    opening = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    middle = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    closing = compressor.compress(tail) + compressor.flush()
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + repeats * len(block) + len(tail)

    entries = []
    with open(path, "wb") as out:
        def entry(entry_name: str, data_parts: list[bytes], crc32: int, plain_size: int, stored: bool) -> None:
            encoded = entry_name.encode()
            compressed = sum(len(p) for p in data_parts)
            method = 0 if stored else 8
            entries.append((encoded, out.tell(), crc32, compressed, plain_size, method))
            out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc32, compressed, plain_size, len(encoded), 0))
            out.write(encoded)
            for p in data_parts:
                out.write(p)

        ordered = [n for n in first if n in parts] + [n for n in parts if n not in first]
        for part in ordered:
            data = parts[part]
            stored = part == "mimetype"  # OpenDocument wants it first and uncompressed
            if stored:
                entry(part, [data], zlib.crc32(data), len(data), True)
            else:
                c = zlib.compressobj(6, zlib.DEFLATED, -15)
                entry(part, [c.compress(data) + c.flush()], zlib.crc32(data), len(data), False)
        entry(name, [opening, *([middle] * repeats), closing], crc, size, False)
        directory = out.tell()
        for encoded, offset, crc32, compressed, plain_size, method in entries:
            out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc32, compressed, plain_size,
                                  len(encoded), 0, 0, 0, 0, 0, offset))
            out.write(encoded)
        end = out.tell()
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), end - directory, directory, 0))
    return path
