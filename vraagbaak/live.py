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
from .corpus import add_document
from .build import BuildReport

__all__ = ["LiveIndex"]


class LiveIndex:
    def __init__(self, corpus_dir: str | Path, index_dir: str | Path, model: str | None = None, model_dir=None, backend: str | None = None):
        self.corpus_dir = Path(corpus_dir)
        self.index_dir = index_dir  # a folder, or "milvus:URI[#NAME]"
        self.model = model
        self.model_dir = model_dir
        self.backend = backend
        self._update_lock = threading.Lock()  # one build at a time
        # Set by the first update(), which reads the index folder anyway: loading
        # it here as well would read every file twice at start-up.
        self.current: Index | None = None

    def update(self, progress: Callable[[int, int], None] | bool | None = True, on_skip=None) -> BuildReport:
        """Bring the index up to date with the corpus folder; swap it in when complete."""
        with self._update_lock:
            fresh = Index.build(
                self.corpus_dir, self.index_dir, model=self.model, model_dir=self.model_dir,
                progress=progress, on_skip=on_skip, backend=self.backend,
            )
            previous = self.current
            if previous is not None and previous.model == fresh.model:
                fresh._searcher.reuse_from(previous._searcher)  # keep the loaded model
            fresh._store.warm_up()  # read the vector indexes before the swap, not in the next search
            self.current = fresh
            return fresh.report

    def add(self, name: str, data: bytes, size: int | None = None) -> Path:
        """Save a new text into the corpus folder (see ``corpus.add_document``)."""
        return add_document(self.corpus_dir, name, data, size)

    def search(self, question: str, **kwargs):
        index = self.current  # one read: a concurrent swap cannot split a search
        if index is None:
            from .errors import VraagbaakError

            raise VraagbaakError("there is no index yet: add texts and update the index")
        return index.search(question, **kwargs)
