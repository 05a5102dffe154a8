"""``Index``: the one object Python users, the CLI and the web page work with."""

from __future__ import annotations

from pathlib import Path

from .chunking import ChunkingSettings
from .embeddings import load_embedder
from .index import BuildReport, PassageIndex, build_index
from .search import Hit, Searcher

__all__ = ["Index"]


class Index:
    """A searchable index folder.

    >>> index = Index.build("corpus", "index")   # build or update, then load
    >>> index = Index.load("index")
    >>> hits = index.search("wat is preventie?", k=5)
    >>> hits[0].source, hits[0].answer
    """

    def __init__(self, data: PassageIndex, model_dir: str | Path | None = None, report: BuildReport | None = None):
        self._data = data
        self._model_dir = model_dir
        self.report = report  # what the last build did, when this came from build()
        self._searcher = Searcher(data, lambda: load_embedder(data.model, model_dir))

    @classmethod
    def load(cls, index_dir: str | Path = "index", model: str | None = None, model_dir: str | Path | None = None) -> "Index":
        """Open an index folder; ``model``, if given, must be the model that built it."""
        data = PassageIndex.load(index_dir)
        if model is not None and model != data.model:
            from .errors import IndexLoadError

            raise IndexLoadError(
                f"the index in {index_dir} was built with model {data.model!r}, not {model!r}; "
                f"rebuild it with: python -m vraagbaak build --index {index_dir} --model {model}"
            )
        return cls(data, model_dir)

    @classmethod
    def build(
        cls,
        corpus_dir: str | Path = "corpus",
        index_dir: str | Path = "index",
        model: str | None = None,
        model_dir: str | Path | None = None,
        settings: ChunkingSettings | None = None,
        progress=True,
        on_skip=None,
    ) -> "Index":
        """Build the index of ``corpus_dir`` or bring it up to date; return it loaded."""
        data, report = build_index(corpus_dir, index_dir, model, model_dir, settings, progress, on_skip)
        return cls(data, model_dir, report)

    def search(self, question: str, k: int = 5, mode: str = "hybrid", source: str | None = None, answers: int | None = None) -> list[Hit]:
        """The ``k`` passages that best answer ``question``, best first.

        ``mode``: "hybrid" (default), "dense" or "lexical"; ``source``: only
        passages of that document; ``answers``: how many hits get their
        answering sentence chosen (default: all).
        """
        return self._searcher.search(question, k, mode, source, answers)

    # ---------------------------------------------------------------- facts

    @property
    def model(self) -> str:
        return self._data.model

    @property
    def path(self) -> Path:
        return self._data.root

    @property
    def documents(self) -> dict[str, str]:
        """source -> title of every indexed document."""
        return {s: d["title"] for s, d in self._data.manifest["documents"].items()}

    @property
    def passage_count(self) -> int:
        return len(self._data.passages)

    @property
    def updated(self) -> str:
        return self._data.manifest.get("updated", "")

    def warm_up(self) -> None:
        """Load the model and the lexical index now rather than on the first question."""
        self._searcher.embedder
        self._searcher.lexical

    def __repr__(self) -> str:
        return f"<Index {self.path}: {len(self.documents)} documents, {self.passage_count} passages, model {self.model}>"
