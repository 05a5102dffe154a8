"""A build and uploads over files made to exhaust a reader (issue 35). Not a test; nothing here asserts.

    python benchmarks/bombs.py [--workers N]

1. Builds, with the bundled model and OCR on (the defaults), a corpus of the
   bombs of tests/bombs.py beside one normal PDF: the 200-inch page, a blank
   PDF of 2,000 pages, a TIFF of 60 frames of 10,000 x 10,000, a 13,000 x
   13,000 PNG, a DOCX and an ODT whose XML inflates to 1.2 GB, a 40 MB web
   page, and a PDF whose content stream inflates to 1.2 GB (which no reader
   limit knows: the reading process's memory ceiling stops it).
2. Uploads each bomb through ``LiveIndex.add`` (the web page's path) while
   another thread searches without pause.

Prints one JSON line per part: the seconds, the peak resident memory of the
whole process tree (this process, its reading processes and their Tesseract,
sampled every 20 ms with psutil) and of this process alone, what was skipped
or refused and why, what was indexed; for the uploads also the searches'
p50 and slowest time. Prints the CPU model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

GB = 1024**3


class TreeMemory:
    """The peak resident memory of this process and all its descendants, sampled on a thread."""

    def __init__(self, every: float = 0.02):
        import psutil

        self.me = psutil.Process()
        self.every = every
        self.peak_tree = self.peak_self = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = mine = self.me.memory_info().rss
            for child in self.me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass  # ended between the listing and the reading
            self.peak_tree, self.peak_self = max(self.peak_tree, total), max(self.peak_self, mine)
            self._stop.wait(self.every)

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def cpu_model() -> str:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def make_corpus(folder: Path) -> dict[str, Path]:
    import bombs
    import documents

    folder.mkdir(parents=True)
    made = {
        "groot.pdf": bombs.huge_page_pdf(folder / "groot.pdf"),
        "blanco.pdf": bombs.blank_pdf(folder / "blanco.pdf"),
        "paginas.tiff": bombs.tiff_bomb(folder / "paginas.tiff"),
        "groot.png": bombs.png_bomb(folder / "groot.png"),
        "bom.docx": bombs.docx_bomb(folder / "bom.docx"),
        "bom.odt": bombs.odt_bomb(folder / "bom.odt"),
        "groot.html": bombs.huge_html(folder / "groot.html"),
        "stroom.pdf": bombs.stream_pdf(folder / "stroom.pdf"),
    }
    documents.write_pdf(folder / "notitie.pdf")
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=None, help="reading processes (default: every core)")
    args = parser.parse_args()

    from vraagbaak import Index
    from vraagbaak.errors import VraagbaakError
    from vraagbaak.live import LiveIndex

    work = Path(tempfile.mkdtemp(prefix="bombs-"))
    made = make_corpus(work / "corpus")
    print(json.dumps({"cpu": cpu_model(), "cores": os.cpu_count(),
                      "files": {name: path.stat().st_size for name, path in sorted(made.items())}}), flush=True)

    started = time.perf_counter()
    with TreeMemory() as memory:
        index = Index.build(work / "corpus", work / "index", progress=False, workers=args.workers, on_skip=lambda s, r: None)
    print(json.dumps({"part": "build", "seconds": round(time.perf_counter() - started, 1),
                      "peak_tree_gb": round(memory.peak_tree / GB, 2), "peak_this_process_gb": round(memory.peak_self / GB, 2),
                      "indexed": sorted(index.documents), "skipped": dict(index.report.skipped)}, ensure_ascii=False), flush=True)

    live = LiveIndex(work / "corpus", work / "index")
    live.update(progress=False)
    live.current.search("wat staat er in de notitie?", k=3)  # the model loaded before the clock starts
    upload_dir = work / "uploads"
    upload_dir.mkdir()
    for name, path in made.items():
        path.rename(upload_dir / name)  # out of the corpus: uploaded instead
    searches, stop = [], threading.Event()

    def search() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            live.search("Hoe wordt het opbouwwerk in Zwolle betaald?", k=5)
            searches.append(time.perf_counter() - t)

    refused = {}
    started = time.perf_counter()
    with TreeMemory() as memory:
        searcher = threading.Thread(target=search)
        searcher.start()
        for name in made:
            data = (upload_dir / name).read_bytes()
            try:
                live.add(name, data)
                refused[name] = "SAVED"
            except VraagbaakError as exc:
                refused[name] = str(exc)
        stop.set()
        searcher.join()
    print(json.dumps({"part": "uploads", "seconds": round(time.perf_counter() - started, 1),
                      "peak_tree_gb": round(memory.peak_tree / GB, 2), "peak_this_process_gb": round(memory.peak_self / GB, 2),
                      "searches": len(searches), "search_p50_s": round(statistics.median(searches), 3),
                      "search_max_s": round(max(searches), 3), "refused": refused,
                      "corpus_after": sorted(p.name for p in (work / "corpus").iterdir())}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
