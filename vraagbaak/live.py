"""An index that keeps answering while it is being updated.

The web page holds one ``LiveIndex``. Searches read ``self.current``; an update
builds the next index (on disk, atomically) and then replaces the reference in
one assignment, so searches never see a half-built index and never wait for
the build — except for the moments the shared model is busy embedding a batch.
An update that finds nothing to change keeps the index it has (a watcher,
``watch.py``, updates often). One update runs at a time; ``followed`` says
when the index last followed the corpus folder.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Callable

from . import messages
from .api import Index
from .build import BuildOptions, BuildReport, log_failure, unchanged_report
from .corpus import add_document
from .embeddings import resolve_backend
from .errors import VraagbaakError
from .isolation import IsolationSettings
from .ocr import OcrSettings
from .stores import locate
from .progress import BuildProgress, terminal_printer
from .view import View

__all__ = ["LiveIndex"]


class LiveIndex:
    def __init__(self, corpus_dir: str | Path, index_dir: str | Path, model: str | None = None, model_dir=None, backend: str | None = None,
                 ocr: OcrSettings | None = None, isolation: IsolationSettings | None = None):
        self.corpus_dir = Path(corpus_dir)
        self.index_dir = index_dir  # a folder, or a store address (``stores.locate``)
        self.model = model
        self.model_dir = model_dir
        self.backend = backend
        self.ocr = ocr or OcrSettings()
        self.isolation = isolation or IsolationSettings()  # how files are read: apart, with a memory ceiling (``isolation.py``)
        self._update_lock = threading.Lock()  # one build at a time
        self._swap_lock = threading.Lock()  # the reference changes under it: an update's swap, or a view opening a checkpoint
        # Set by the first update(), which reads the index folder anyway: loading
        # it here as well would read every file twice at start-up.
        self._current: Index | None = None
        self._published = False  # a first build committed a checkpoint: the next view opens it
        self.followed: dt.datetime | None = None  # when the last update that finished began (local time): what the index reflects
        self.skipped: dict[str, str] = {}  # source -> why, of each corpus file the index leaves out (as of the last update)
        self._unreadable: dict[str, tuple[int, int]] = {}  # source -> (size, mtime_ns) of those it could not read

    @property
    def current(self) -> Index | None:
        """The index searches use now (None: none built yet). A request reads it once, through ``view``."""
        return self._current

    def view(self, account=None) -> View:
        """One request's view of the index (``view.View``): the current index, read
        once, as ``account`` (an ``accounts.Account``; None: everything) may see it."""
        index, followed = self._current, self.followed
        if index is None and self._published:
            index = self._open_published()
        return View(index, account, followed)

    def open(self) -> Index | None:
        """The index as it is on disk, in use at once, without reading the corpus folder. None:
        there is none yet, it cannot be opened as it is (an update repairs it), or it was made
        with another model or backend than this one's (an update embeds everything anew).

        For a start that answers before it follows the folder: ``app.py`` with a watcher,
        whose first scan is the update a start would otherwise wait for. The index
        is opened as ``update`` returns it when nothing changed (its own model,
        backend and ranking), so the first update that finds nothing keeps it, warm."""
        with self._swap_lock:
            if self._current is None:
                try:
                    index = Index.load(store=str(self.index_dir), model=self.model, model_dir=self.model_dir)
                    same_backend = resolve_backend(index.model, self.backend, index.backend) == index.backend  # as a build decides
                except VraagbaakError:
                    return None
                if not same_backend:
                    _close(index)
                    return None
                self._current = index
            return self._current

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

    @property
    def updating(self) -> bool:
        """An update is running (from the page, or a watcher)."""
        return self._update_lock.locked()

    def update(self, progress: Callable[[BuildProgress], None] | bool | None = True, on_skip=None, *,
               retry_skipped: bool = True) -> BuildReport:
        """Bring the index up to date with the corpus folder; swap it in when complete.

        Built by ``Index.build``, as the command line builds (the same options,
        the same rule for the ranking settings an index records). A first
        build's checkpoints make its finished documents searchable at once (a
        page started on an empty index answers before the build ends).
        ``retry_skipped=False``: a file an earlier update could not read is read
        again only once it changed (a watcher's updates; the page's button tries them all)."""
        with self._update_lock:
            started = dt.datetime.now().astimezone()
            unreadable = {} if retry_skipped else dict(self._unreadable)
            current = self._current
            if not retry_skipped and current is not None:  # a watcher's rescan: mostly nothing to do, told cheaply
                options = BuildOptions(model=self.model, backend=self.backend, unreadable=unreadable)
                unchanged = unchanged_report(self.corpus_dir, current.store, options)
                if unchanged is not None:
                    self._remember_skipped(unchanged)
                    self.followed = started
                    return unchanged
            fresh = Index.build(self.corpus_dir, self.index_dir, model=self.model, model_dir=self.model_dir, backend=self.backend,
                                ocr=self.ocr, isolation=self.isolation, progress=self._following(progress), on_skip=on_skip,
                                unreadable=unreadable)
            report = fresh.report
            self._remember_skipped(report)
            self.followed = started
            if current is not None and not report.written:
                _close(fresh)  # nothing changed: the index in use stays, warm
                return report
            if current is not None:
                fresh.take_model_from(current)
            fresh.warm_up(model=False)  # read the vector indexes before the swap, not in the next search
            with self._swap_lock:
                self._current = fresh
            return report

    def _remember_skipped(self, report: BuildReport) -> None:
        reasons = {source: reason for source, reason in report.skipped}
        self.skipped = {**{s: self.skipped.get(s, "") for s in report.unreadable}, **reasons}
        self._unreadable = {source: tuple(stat) for source, stat in report.unreadable.items()}

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

        It is read in a process of its own with a memory ceiling, as the build
        reads: a file made to exhaust a reader costs this upload only. A file
        a reader fails on is refused with the build's reason, and its
        traceback goes to the index's error log, as in a build. A file whose
        content equals an indexed document's is refused, naming that document.
        A scan is recognised here (``on_page(done, total)`` after each page) and
        its text cached, so the update that follows does not recognise it again."""
        index = self._current
        # content hash -> source; reversed so that, among identical files, the message names the first by name
        known = {} if index is None else {r.sha256: source for source, r in sorted(index.store.document_records.items(), reverse=True)}
        try:
            return add_document(self.corpus_dir, name, data, size, known=known, ocr=self.ocr, on_page=on_page,
                                isolation=self.isolation)
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
            raise VraagbaakError(messages.NO_INDEX_YET)
        return index.search(question, **kwargs)


def _close(index: Index) -> None:
    close = getattr(index.store, "close", None)
    if close is not None:
        close()
