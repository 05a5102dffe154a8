"""PDF text extraction: pypdfium2 (what Vraagbaak uses) against pypdf, on a real multi-page Dutch PDF.

The PDF is written by Chromium's print-to-PDF (Skia, subsetted fonts, justified
text, soft hyphens, the browser's own running header and footer with page
numbers) from the default corpus's five Dutch articles, repeated to make it
longer. Quality: the share of the source's words found in the extracted text
(in order-free bag-of-words terms) and how many extracted words are not in
the source at all (split or glued words). Speed: pages per second, median of 3.

    python benchmarks/documents.py [--repeat 4] [--pdf existing.pdf]
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def source_paragraphs(repeat: int) -> list[str]:
    paragraphs = []
    for _ in range(repeat):
        for path in sorted((ROOT / "corpus").glob("*.txt")):
            paragraphs += [p for p in path.read_text(encoding="utf-8").split("\n") if p.strip()]
    return paragraphs


def write_pdf(paragraphs: list[str], out: Path) -> None:
    chromium = shutil.which("chromium")
    if not chromium:
        sys.exit("needs Debian's chromium (make chromium)")

    def soft_hyphens(text: str) -> str:  # let the browser break long words, as word processors do
        return re.sub(r"\w{12,}", lambda m: m.group()[: len(m.group()) // 2] + "&shy;" + m.group()[len(m.group()) // 2 :], text)

    body = "".join(f"<p>{soft_hyphens(html.escape(p))}</p>" for p in paragraphs)
    page = out.with_suffix(".html")
    page.write_text(
        f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Sociaal werk in Nederland</title>'
        f"<style>body{{font-family:serif;font-size:11pt;text-align:justify}}p{{margin:0 0 .6em}}</style></head><body>{body}</body></html>",
        encoding="utf-8",
    )
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={out}", page.as_uri()],
                   check=True, capture_output=True)


def words(text: str) -> Counter:
    return Counter(w.lower() for w in re.findall(r"\w+", text))


def quality(source: Counter, extracted: Counter) -> tuple[float, int]:
    found = sum(min(n, extracted[w]) for w, n in source.items()) / sum(source.values())
    foreign = sum(n for w, n in extracted.items() if w not in source)
    return found, foreign


def with_pdfium(pdf: Path) -> tuple[str, int]:
    from vraagbaak.readers import extract

    got = extract(pdf, pdf.read_bytes())
    return got.text, len(got.page_starts)


def with_pypdf(pdf: Path) -> tuple[str, int]:
    import pypdf

    reader = pypdf.PdfReader(pdf)
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=4, help="copies of the default corpus in the PDF")
    parser.add_argument("--pdf", type=Path, help="measure this PDF instead (quality figures then need the source: skipped)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    paragraphs = source_paragraphs(args.repeat)
    pdf = args.pdf or work / "sociaal-werk.pdf"
    if not args.pdf:
        write_pdf(paragraphs, pdf)
    source = words("\n".join(paragraphs))
    print(f"{pdf.name}: {pdf.stat().st_size / 1e6:.2f} MB")
    for name, read in (("pypdfium2 + Vraagbaak clean-up", with_pdfium), ("pypdf (extract_text)", with_pypdf)):
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            text, pages = read(pdf)
            times.append(time.perf_counter() - t0)
        seconds = statistics.median(times)
        line = f"{name:32s} {pages} pages  {pages / seconds:7.1f} pages/s  ({seconds:.3f} s)"
        if not args.pdf:
            found, foreign = quality(source, words(text))
            line += f"  source words found {found:.4f}  words not in the source {foreign}"
        print(line)


if __name__ == "__main__":
    main()
