"""An index that keeps answering while it is being updated.

The web page holds one ``LiveIndex``. Searches read ``self.current``; an update
builds the next index (on disk, atomically) and then replaces the reference in
one assignment, so searches never see a half-built index and never wait for
the build — except for the moments the shared model is busy embedding a batch.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from .api import Index
from .build import BuildReport, log_failure
from .corpus import add_document
from .errors import VraagbaakError
from .ocr import OcrSettings
from .stores import locate
from .progress import BuildProgress, terminal_printer
from .view import NO_INDEX_YET, View

__all__ = ["LiveIndex"]


class LiveIndex:
    def __init__(self, corpus_dir: str | Path, index_dir: str | Path, model: str | None = None, model_dir=None, backend: str | None = None,
                 ocr: OcrSettings | None = None):
        self.corpus_dir = Path(corpus_dir)
        self.index_dir = index_dir  # a folder, or a store address (``stores.locate``)
        self.model = model
        self.model_dir = model_dir
        self.backend = backend
        self.ocr = ocr or OcrSettings()
        self._update_lock = threading.Lock()  # one build at a time
        self._swap_lock = threading.Lock()  # the reference changes under it: an update's swap, or a view opening a checkpoint
        # Set by the first update(), which reads the index folder anyway: loading
        # it here as well would read every file twice at start-up.
        self._current: Index | None = None
        self._published = False  # a first build committed a checkpoint: the next view opens it

    @property
    def current(self) -> Index | None:
        """The index searches use now (None: none built yet). A request reads it once, through ``view``."""
        return self._current

    def view(self, account=None) -> View:
        """One request's view of the index (``view.View``): the current index, read
        once, as ``account`` (an ``accounts.Account``; None: everything) may see it."""
        index = self._current
        if index is None and self._published:
            index = self._open_published()
        return View(index, account)

    def _open_published(self) -> Index | None:
        """A first build's finished documents, searchable before it ends: opened by the
        first request after its checkpoint, never inside the build's progress callback."""
        with self._swap_lock:
            if self._current is None:
                try:
                    self._current = Index.load(store=str(self.index_dir), model=self.model, model_dir=self.model_dir, backend=self.backend)
                except VraagbaakError:
                    return None  # not readable yet: the next request tries again
            return self._current

    def update(self, progress: Callable[[BuildProgress], None] | bool | None = True, on_skip=None) -> BuildReport:
        """Bring the index up to date with the corpus folder; swap it in when complete.

        Built by ``Index.build``, as the command line builds (the same options,
        the same rule for the ranking settings an index records). A first
        build's checkpoints make its finished documents searchable at once (a
        page started on an empty index answers before the build ends)."""
        with self._update_lock:
            fresh = Index.build(self.corpus_dir, self.index_dir, model=self.model, model_dir=self.model_dir, backend=self.backend,
                                ocr=self.ocr, progress=self._following(progress), on_skip=on_skip)
            previous = self._current
            if previous is not None:
                fresh.take_model_from(previous)
            fresh.warm_up(model=False)  # read the vector indexes before the swap, not in the next search
            with self._swap_lock:
                self._current = fresh
            return fresh.report

    def _following(self, progress):
        """The build's progress callback, which also notes a first build's first checkpoint."""
        show = terminal_printer() if progress is True else (progress or None)

        def step(p: BuildProgress) -> None:
            if p.checkpoints:
                self._published = True
            if show:
                show(p)

        return step

    def add(self, name: str, data: bytes, size: int | None = None, on_page: Callable[[int, int], None] | None = None) -> Path:
        """Save a new text into the corpus folder (see ``corpus.add_document``).

        A file a reader fails on is refused with the build's reason, and its
        traceback goes to the index's error log, as in a build. A file whose
        content equals an indexed document's is refused, naming that document.
        A scan is recognised here (``on_page(done, total)`` after each page) and
        its text cached, so the update that follows does not recognise it again."""
        index = self._current
        # content hash -> source; reversed so that, among identical files, the message names the first by name
        known = {} if index is None else {r[2]: source for source, r in sorted(index.store.document_records.rows().items(), reverse=True)}
        try:
            return add_document(self.corpus_dir, name, data, size, known=known, ocr=self.ocr, on_page=on_page)
        except VraagbaakError as exc:
            details = getattr(exc.__cause__, "details", "")
            if details:
                log_failure(locate(self.index_dir).error_log, name, details)
            raise

    def search(self, question: str, **kwargs):
        """Every hit of a search of the current index, weak matches included (for Python
        callers; the page and the API go through ``view``, which splits them)."""
        index = self._current  # one read: a concurrent swap cannot split a search
        if index is None:
            raise VraagbaakError(NO_INDEX_YET)
        return index.search(question, **kwargs)
