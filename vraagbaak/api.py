"""``Index``: the one object Python users, the CLI and the web page work with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from . import messages
from .build import CHECKPOINT_SECONDS, BuildOptions, BuildReport, build_index
from .chunking import ChunkingSettings
from .embeddings import backend_choice, load_embedder
from .errors import IndexLoadError
from .dates import parse_day
from .filters import list_folders, list_types, scope
from .isolation import IsolationSettings
from .ocr import OcrSettings
from .search import Hit, RankingSettings, Searcher
from .stores import Location, StoreReader, locate

__all__ = ["Index"]


class Index:
    """A searchable index: a folder, or a Milvus collection (``"milvus:URI[#NAME]"``).

    >>> index = Index.build("corpus", "index")   # build or update, then load
    >>> index = Index.load("index")
    >>> index = Index.load(store="milvus:./vraagbaak.db")
    >>> hits = index.search("wat is preventie?", k=5)
    >>> hits[0].source, hits[0].answer
    """

    def __init__(self, store: StoreReader, model_dir: str | Path | None = None, report: BuildReport | None = None,
                 ranking: RankingSettings | None = None, backend: str | None = None):
        self._store = store
        self._model_dir = model_dir
        self.report = report  # what the last build did, when this came from build()
        # The index's own backend and precision unless told otherwise (one this version no
        # longer has: the default, which check_embedder then refuses with a rebuild line).
        built_with = store.config.backend
        backend = backend or (built_with if backend_choice(built_with) else None)
        # The ranking the index records unless told otherwise; one an earlier version
        # of the ranking rules recorded gets this version's defaults (RankingSettings.recorded).
        # The no-match cosine follows the precision of the index's vectors (RankingSettings.for_vectors).
        ranking = (ranking or RankingSettings.recorded(store.config.ranking)).for_vectors(store.config.backend)
        self._searcher = Searcher(store, lambda: load_embedder(store.config.model, model_dir, backend), ranking)

    @classmethod
    def load(cls, index_dir: str | Path = "index", *, model: str | None = None, model_dir: str | Path | None = None,
             ranking: RankingSettings | None = None, backend: str | None = None, store: "str | Location | None" = None) -> "Index":
        """Open an index (``store``, else the folder ``index_dir``); ``model``, if given, must be the model that built it.

        ``store`` is a folder, "milvus:URI[#NAME]", or a ``stores.Location``
        (one made with its own settings, e.g. ``FolderLocation(path, StoreSettings(...))``).

        Questions are embedded with the backend that built the index
        ("openvino" or "torch"); another ``backend`` is refused on the first search.
        """
        location = locate(store if store is not None else index_dir)
        opened = location.open()
        if model is not None and model != opened.config.model:
            raise IndexLoadError(messages.index_model_differs(location, opened.config.model, model, location.build_command("--model", model)))
        return cls(opened, model_dir, ranking=ranking, backend=backend)

    @classmethod
    def build(
        cls,
        corpus_dir: str | Path = "corpus",
        index_dir: str | Path = "index",
        *,
        model: str | None = None,
        model_dir: str | Path | None = None,
        settings: ChunkingSettings | None = None,
        progress=True,
        on_skip=None,
        workers: int | None = None,
        ranking: RankingSettings | None = None,
        backend: str | None = None,
        store: "str | Location | None" = None,
        checkpoint_seconds: float | None = CHECKPOINT_SECONDS,
        rebuild: bool = False,
        ocr: OcrSettings | None = None,
        unreadable: "Mapping[str, tuple[int, int]] | None" = None,
        isolation: IsolationSettings | None = None,
    ) -> "Index":
        """Build the index of ``corpus_dir`` or bring it up to date; return it loaded.

        ``store``: where the index lives (a folder, or "milvus:URI[#NAME]";
        default the folder ``index_dir``); ``workers``: processes that split
        documents (default: every core); ``backend``: "openvino" (default for the
        bundled model) or "torch"; ``progress``: True for a line on a terminal,
        or a function that takes a ``BuildProgress``; ``checkpoint_seconds``:
        how often a long build commits the documents it has finished (None: at
        the end only), so that a killed build keeps them; ``rebuild``: embed every
        document anew; ``ocr``: how scanned PDF pages and images are read
        (``OcrSettings(enabled=False)``: not at all; default: Tesseract's Dutch
        model at 300 dpi, when installed); ``unreadable``: source -> (size,
        mtime_ns) of files an earlier build could not read (``BuildReport.unreadable``),
        passed over again unless they changed (what a watcher's updates hand on);
        ``isolation``: how files are read apart from this process (its memory
        ceiling and patience; default ``IsolationSettings()``).
        """
        # One rule for every entry point (this, the command line, the page's LiveIndex): a build that writes
        # records the ranking settings it was given, or this version's defaults, so that Index.load ranks as
        # the last build did, whoever ran it (README, "Recorded ranking settings").
        options = BuildOptions(model=model, model_dir=model_dir, backend=backend, chunking=settings, workers=workers,
                               progress=progress, on_skip=on_skip, checkpoint_seconds=checkpoint_seconds, rebuild=rebuild,
                               ranking=(ranking or RankingSettings()).to_dict(), ocr=ocr or OcrSettings(), unreadable=unreadable or {},
                               isolation=isolation or IsolationSettings())
        opened, report = build_index(corpus_dir, store if store is not None else index_dir, options)
        return cls(opened, model_dir, report, ranking)

    def search(self, question: str, k: int = 5, *, mode: str = "hybrid", source: str | None = None,
               folders: Iterable[str] = (), types: Iterable[str] = (), since: "date | str | None" = None,
               until: "date | str | None" = None, within: Iterable[str] | None = None, answers: int | None = None) -> list[Hit]:
        """The ``k`` passages that best answer ``question``, best first.

        ``mode``: "hybrid" (default), "dense" or "lexical". Filters (combined
        with AND; an empty one restricts nothing): ``source``, one document;
        ``folders``, documents in any of these subfolders of the corpus
        ("team-a", "team-a/2024"); ``types``, of any of these file types ("pdf",
        "docx"); ``since``, ``until``: documents made on or after, on or before
        this day (a ``date`` or "2024-03-12"; each ``Hit.date`` says the
        document's, see ``dates``); ``within``, only these sources (what a caller allows, e.g. a
        user's collections): the other filters then name only what lies within
        it, and their errors list nothing outside it. The search itself is
        narrowed, so ``k`` hits come back whenever ``k`` exist within the
        filters. ``answers``: how many hits get their answering sentence chosen
        (default: all).
        """
        records = self._store.document_records  # a mapping over the sources, not a copy: searches stay cheap
        known = records if within is None else [s for s in within if s in records]
        allowed = scope(known, source=source, folders=folders, types=types, within=None if within is None else known,
                        since=parse_day(since, "since"), until=parse_day(until, "until"), date_of=lambda s: records[s].date)
        return self._searcher.search(question, k, mode, allowed, answers)

    # ---------------------------------------------------------------- facts

    @property
    def store(self) -> StoreReader:
        """The committed store this index searches (``stores.base.StoreReader``): for tools and tests that read it."""
        return self._store

    @property
    def model(self) -> str:
        return self._store.config.model

    @property
    def path(self) -> Path | str:
        """The index folder (a Path), or the ``milvus:`` location of a Milvus index."""
        return self._store.root

    @property
    def documents(self) -> dict[str, str]:
        """source -> title of every indexed document."""
        return self._store.documents

    @property
    def folders(self) -> list[str]:
        """The subfolders of the corpus that hold indexed documents (its collections), at any depth."""
        return list_folders(self._store.documents)

    @property
    def types(self) -> list[str]:
        """The file types of the indexed documents ("pdf", "txt", ...)."""
        return list_types(self._store.documents)

    @property
    def passage_count(self) -> int:
        return self._store.passage_count

    @property
    def updated(self) -> str:
        return self._store.updated

    @property
    def backend(self) -> str:
        return self._store.config.backend

    @property
    def ranking(self) -> RankingSettings:
        return self._searcher.settings

    def warm_up(self, *, model: bool = True) -> None:
        """Load the vector indexes (and, with ``model``, the model and question tokenizer) now rather than on the first question."""
        if model:
            self._searcher.warm_up()
        self._store.warm_up()

    def take_model_from(self, previous: "Index") -> None:
        """Use the model ``previous`` has loaded, if it is this index's model (an update's new index, swapped in)."""
        if previous.model == self.model:
            self._searcher.reuse_from(previous._searcher)

    def __repr__(self) -> str:
        return f"<Index {self.path}: {len(self.documents)} documents, {self.passage_count} passages, model {self.model}>"
