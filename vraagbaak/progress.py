"""How far a build is, and how long it will still take: one record, two ways to show it.

A build calls ``progress(BuildProgress)`` after each group of documents it
has embedded and written, and after each checkpoint. The estimate of the time
left is made from bytes, not documents: a corpus mixes one-page notes with
300-page reports, and the bytes read so far predict the work left far better
than the documents counted (a PDF's bytes include its images, so it stays an
estimate). It is given once a tenth of a minute's work, or a twentieth of the
bytes, is done, so it shows within the first minute.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

__all__ = ["BuildProgress", "count_nl", "terminal_printer", "describe_nl", "duration_nl"]

MIN_SECONDS_FOR_ESTIMATE = 6.0
MIN_SHARE_FOR_ESTIMATE = 0.05


@dataclass
class BuildProgress:
    documents_total: int  # documents this build reads and embeds
    bytes_total: int
    documents_done: int = 0
    bytes_done: int = 0
    passages_done: int = 0  # passages written by this build (embedded or reused)
    documents_committed: int = 0  # of documents_done: safe on disk (last checkpoint)
    checkpoints: int = 0
    elapsed: float = 0.0  # seconds since the build began this stage (OCR, or splitting and embedding), when this was reported
    pages_total: int = 0  # scanned pages to recognise before reading (OCR); 0: no OCR stage
    pages_done: int = 0

    @property
    def recognising(self) -> bool:
        """True while scanned pages are being recognised (OCR), before documents are read."""
        return self.pages_done < self.pages_total

    @property
    def ocr_seconds_left(self) -> float | None:
        """Estimated seconds until every scanned page is recognised (pages take about as long as each other)."""
        if not self.pages_done:
            return None
        return self.elapsed / self.pages_done * (self.pages_total - self.pages_done)

    @property
    def documents_per_minute(self) -> float:
        return 60 * self.documents_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        """Estimated seconds until every document is written; None until there is enough to go on."""
        if self.documents_done >= self.documents_total:
            return 0.0
        share = self.bytes_done / self.bytes_total if self.bytes_total else 0.0
        if share <= 0 or (self.elapsed < MIN_SECONDS_FOR_ESTIMATE and share < MIN_SHARE_FOR_ESTIMATE):
            return None
        return self.elapsed * (1 - share) / share


def duration_nl(seconds: float, hours: str = "uur") -> str:
    """'45 s', '12 min', '2 uur 5 min': what the page shows (``hours="h"`` for the terminal)."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} {hours} {minutes % 60} min"


def count_nl(n: int, one: str, many: str) -> str:
    """A number with its noun in agreement: "1 passage", "2 passages", "0 passages"."""
    return f"{n} {one if n == 1 else many}"


def describe_nl(p: BuildProgress) -> str:
    """One line for the page: documents and passages done, rate, time left, what is safe on disk."""
    if p.recognising:
        line = f"Tekst herkennen in scans (OCR): pagina {p.pages_done} van {p.pages_total}"
        left = p.ocr_seconds_left
        return line + (f"; nog ongeveer {duration_nl(left)}" if left is not None else "")
    line = f"{p.documents_done} van {count_nl(p.documents_total, 'document', 'documenten')}, {count_nl(p.passages_done, 'passage', 'passages')}"
    if p.documents_done:
        line += f" ({p.documents_per_minute:.0f} documenten per minuut)"
    left = p.seconds_left
    if left is not None and p.documents_done < p.documents_total:
        line += f"; nog ongeveer {duration_nl(left)}"
    if p.checkpoints:
        line += f"; {p.documents_committed} al opgeslagen in de index"
    return line


def terminal_printer():
    """A progress line on a terminal (rewritten in place); silence elsewhere (logs, pipes, CI)."""
    if not sys.stderr.isatty():
        return None

    def show(p: BuildProgress) -> None:
        if p.pages_total and p.documents_done == 0:  # the OCR stage (its last page too)
            left = p.ocr_seconds_left
            eta = f", about {duration_nl(left, hours='h')} left" if left is not None and p.recognising else ""
            print(f"\rOCR: page {p.pages_done}/{p.pages_total}{eta}\033[K", end="" if p.recognising else "\n", file=sys.stderr, flush=True)
            return
        left = p.seconds_left
        eta = f", about {duration_nl(left, hours='h')} left" if left is not None and p.documents_done < p.documents_total else ""
        saved = f", {p.documents_committed} saved" if p.checkpoints else ""
        print(f"\rEmbedding: {p.documents_done}/{p.documents_total} documents, {p.passages_done} passages, "
              f"{p.documents_per_minute:.0f}/min{eta}{saved}\033[K", end="", file=sys.stderr, flush=True)
        if p.documents_done >= p.documents_total:
            print(file=sys.stderr)

    return show
