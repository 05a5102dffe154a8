"""One request's view of an index: what an account may see and open, and what a search shows.

A ``View`` holds one index for its whole life (``LiveIndex.view`` reads the
live reference once), so the visibility, the lists, the counts, the hits and
the no-match threshold of one request all come from the same index, even when
an update swaps in another meanwhile. The page, its ``/search`` API, the source
links and ``vraagbaak ask`` all go through it; it knows nothing of Gradio.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

from . import messages
from .errors import VraagbaakError
from .filters import list_folders, list_types
from .search import Hit, split_weak

if TYPE_CHECKING:
    from .accounts import Account
    from .api import Index

__all__ = ["Results", "View"]



@dataclass(frozen=True)
class Results:
    """A search's answers (``hits``) and the passages that match it only weakly
    (``weak``, which the page folds away under the answers); each list ranked from 1."""

    hits: list[Hit]
    weak: list[Hit]

    @property
    def folded(self) -> list[Hit]:
        """The weak matches as the page shows them, folded under the answers: ranked on from the last answer."""
        return [replace(h, rank=rank) for rank, h in enumerate(self.weak, start=len(self.hits) + 1)]

    @property
    def everything(self) -> list[Hit]:
        """Answers and weak matches together, best first, ranked from 1 (``ask --weak``)."""
        merged = sorted(self.hits + self.weak, key=lambda h: -h.score)  # stable: ties keep the search's order
        return [replace(h, rank=rank) for rank, h in enumerate(merged, start=1)]


class View:
    """``index`` as ``account`` may see it (no account: everything); ``index`` None: nothing built yet."""

    def __init__(self, index: "Index | None", account: "Account | None" = None, followed=None):
        self.index, self.account = index, account
        self.followed = followed  # when the index last followed its corpus folder (a ``datetime``; None: not known)

    # ------------------------------------------------------------ visibility

    @cached_property
    def visible(self) -> frozenset[str] | None:
        """The sources this account may see; None: every document of the index (no narrowing)."""
        if self.index is None:
            return frozenset()
        return None if self.account is None else self.account.visible(self.index.documents)

    @cached_property
    def documents(self) -> dict[str, str]:
        """source -> title of each document this account may see."""
        if self.index is None:
            return {}
        everything = self.index.documents
        return dict(everything) if self.visible is None else {s: everything[s] for s in self.visible}

    def may_open(self, source: str) -> bool:
        """Whether this account may open ``source`` (a document of this index within its collections)."""
        return source in self.documents

    # ------------------------------------------------------------ the status line and lists

    @property
    def built(self) -> bool:
        return self.index is not None

    @property
    def sources(self) -> list[str]:
        return sorted(self.documents)

    @property
    def folders(self) -> list[str]:
        return list_folders(self.documents)

    @property
    def types(self) -> list[str]:
        return list_types(self.documents)

    @property
    def document_count(self) -> int:
        return len(self.documents)

    @property
    def passage_count(self) -> int:
        if self.index is None:
            return 0
        if self.visible is None:
            return self.index.passage_count
        records = self.index.store.document_records
        return sum(records[s].rows for s in self.visible)

    # ------------------------------------------------------------ searching

    def search(self, question: str, k: int = 5, *, mode: str = "hybrid", source: str | None = None,
               folders: Iterable[str] = (), types: Iterable[str] = (), since=None, until=None) -> Results:
        """The ``k`` best passages within what this account may see, split by the
        index's no-match rule (``search.split_weak``) into answers and weak matches.
        The filters are ``Index.search``'s (``since``/``until``: a date or "2024-01-31")."""
        if self.index is None:
            raise VraagbaakError(messages.NO_INDEX_YET)
        found = self.index.search(question, k=k, mode=mode, source=source, folders=folders, types=types, since=since, until=until,
                                  within=self.visible)
        hits, weak = split_weak(found, self.index.ranking)
        return Results(hits, weak)
