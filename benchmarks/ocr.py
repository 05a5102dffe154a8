"""OCR word recall and speed at the resolutions a scan comes in (issue 25).

    python benchmarks/ocr.py [--dpi 150 200 300] [--pages 8]

The five default articles (corpus/) are typeset as a PDF (fpdf2, Helvetica
11 pt, A4), each page is rendered as a greyscale picture at each resolution,
once clean and once made scan-like (rotated 0.6 degrees, blurred, speckled),
and read by the product's own OCR (``vraagbaak.ocr.recognise``: Tesseract,
Dutch model). ``--font-size 8`` measures small print. Word recall: the share of the page's words of 4+ letters (from
the PDF's own text layer, lower case, as a multiset) found in the OCR text.
Speed: pages per second with one Tesseract per core, as the build runs them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vraagbaak.ocr import OcrSettings, recognise  # noqa: E402

WORD = re.compile(r"[^\W\d_]{4,}")


def typeset(pages: int, size: float = 11) -> bytes:
    """The default articles as an A4 PDF of at least ``pages`` pages (Latin-1 only: fpdf's core font)."""
    from fpdf import FPDF

    text = "\n\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus").glob("*.txt")))
    text = text.translate(str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-", "…": "..."}))
    text = text.encode("latin-1", "replace").decode("latin-1")
    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", size=size)
    pdf.multi_cell(0, size / 2, text)
    return bytes(pdf.output())


def page_texts(data: bytes) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    return [page.get_textpage().get_text_range() for page in pdf]


def scan_like(image, seed: int):
    """What a flatbed scanner adds: a slight skew, softness and speckle."""
    import numpy as np
    from PIL import ImageFilter

    image = image.rotate(0.6, expand=True, fillcolor=255).filter(ImageFilter.GaussianBlur(0.6))
    pixels = np.asarray(image, dtype=np.int16)
    noise = np.random.default_rng(seed).normal(0, 12, pixels.shape)
    from PIL import Image

    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def recall(source: str, ocr_text: str) -> tuple[int, int]:
    want = Counter(w.lower() for w in WORD.findall(source))
    got = Counter(w.lower() for w in WORD.findall(ocr_text))
    return sum(min(n, got[w]) for w, n in want.items()), sum(want.values())


def _job(args):
    data, index, dpi, degraded = args
    from vraagbaak.ocr import page_image

    image = page_image(data, index, OcrSettings(dpi=dpi))  # the typeset pages are never blank
    if degraded:
        image = scan_like(image, index)
    return index, recognise(image, OcrSettings(dpi=dpi))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dpi", type=int, nargs="+", default=[150, 200, 300])
    parser.add_argument("--pages", type=int, default=8, help="pages measured (from the start of the typeset text)")
    parser.add_argument("--font-size", type=float, default=11, help="points (8: footnotes and small print)")
    args = parser.parse_args()
    data = typeset(args.pages, args.font_size)
    sources = page_texts(data)[: args.pages]
    workers = os.cpu_count() or 1
    print(f"{len(sources)} pages of {args.font_size:g} pt text, {workers} cores, Tesseract via vraagbaak.ocr\n")
    print("| dpi | page | word recall (4+ letters) | pages per second, 2 processes |")
    print("| --- | --- | --- | --- |")
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for dpi in args.dpi:
            for degraded in (False, True):
                started = time.perf_counter()
                results = dict(pool.map(_job, [(data, i, dpi, degraded) for i in range(len(sources))]))
                seconds = time.perf_counter() - started
                found = total = 0
                for i, source in enumerate(sources):
                    f, t = recall(source, results[i])
                    found, total = found + f, total + t
                kind = "scan-like" if degraded else "clean"
                print(f"| {dpi} | {kind} | {found / total:.4f} ({found}/{total}) | {len(sources) / seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
