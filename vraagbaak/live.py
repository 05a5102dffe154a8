"""An index that keeps answering while it is being updated.

The web page holds one ``LiveIndex``. Searches read ``self.current``; an update
builds the next index (on disk, atomically) and then replaces the reference in
one assignment, so searches never see a half-built index and never wait for
the build — except for the moments the shared model is busy embedding a batch.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Callable

from .api import Index
from .build import BuildOptions, BuildReport, log_failure
from .corpus import add_document
from .errors import VraagbaakError
from .ocr import OcrSettings
from .stores import locate
from .progress import BuildProgress, terminal_printer

__all__ = ["LiveIndex"]


class LiveIndex:
    def __init__(self, corpus_dir: str | Path, index_dir: str | Path, model: str | None = None, model_dir=None, backend: str | None = None,
                 ocr: OcrSettings | None = None):
        self.corpus_dir = Path(corpus_dir)
        self.index_dir = index_dir  # a folder, or "milvus:URI[#NAME]"
        self.model = model
        self.model_dir = model_dir
        self.backend = backend
        # each update adds its progress and on_skip
        self.options = BuildOptions(model=model, model_dir=model_dir, backend=backend, ocr=ocr or OcrSettings())
        self._update_lock = threading.Lock()  # one build at a time
        # Set by the first update(), which reads the index folder anyway: loading
        # it here as well would read every file twice at start-up.
        self.current: Index | None = None

    def update(self, progress: Callable[[BuildProgress], None] | bool | None = True, on_skip=None) -> BuildReport:
        """Bring the index up to date with the corpus folder; swap it in when complete.

        A first build's checkpoints make its finished documents searchable at
        once (a page started on an empty index answers before the build ends):
        ``self.current`` follows each checkpoint."""
        with self._update_lock:
            options = dataclasses.replace(self.options, progress=self._following(progress), on_skip=on_skip)
            fresh = Index.build_with(self.corpus_dir, self.index_dir, options)
            if self.current is not None:
                fresh.take_model_from(self.current)
            fresh.warm_up(model=False)  # read the vector indexes before the swap, not in the next search
            self.current = fresh
            return fresh.report

    def _following(self, progress):
        """The build's progress callback, which also opens the index at a first build's first checkpoint."""
        show = terminal_printer() if progress is True else (progress or None)

        def step(p: BuildProgress) -> None:
            if self.current is None and p.checkpoints:
                try:
                    self.current = Index.load(store=str(self.index_dir), model=self.model, model_dir=self.model_dir, backend=self.backend)
                except VraagbaakError:
                    pass  # nothing published yet
            if show:
                show(p)

        return step

    def add(self, name: str, data: bytes, size: int | None = None, on_page: Callable[[int, int], None] | None = None) -> Path:
        """Save a new text into the corpus folder (see ``corpus.add_document``).

        It is read in a process of its own with a memory ceiling, as the build
        reads: a file made to exhaust a reader costs this upload only. A file
        a reader fails on is refused with the build's reason, and its
        traceback goes to the index's error log, as in a build. A file whose
        content equals an indexed document's is refused, naming that document.
        A scan is recognised here (``on_page(done, total)`` after each page) and
        its text cached, so the update that follows does not recognise it again."""
        index = self.current
        # content hash -> source; reversed so that, among identical files, the message names the first by name
        known = {} if index is None else {r[2]: source for source, r in sorted(index.store.document_records.rows().items(), reverse=True)}
        try:
            return add_document(self.corpus_dir, name, data, size, known=known, ocr=self.options.ocr, on_page=on_page,
                                isolation=self.options.isolation)
        except VraagbaakError as exc:
            details = getattr(exc.__cause__, "details", "")
            if details:
                log_failure(locate(self.index_dir).error_log, name, details)
            raise

    def search(self, question: str, **kwargs):
        index = self.current  # one read: a concurrent swap cannot split a search
        if index is None:
            raise VraagbaakError("there is no index yet: add texts and update the index")
        return index.search(question, **kwargs)
