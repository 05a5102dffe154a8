"""Filters: which documents a search may return, by document, folder, file type and date.

A filter is turned into a *scope* — the set of sources (paths relative to the
corpus folder) a search may return — before anything is searched. The stores
search within that set (``stores.base.StoreReader.dense_search(within=...)``),
so a narrow filter still yields ``k`` hits whenever ``k`` exist: filtering the
hits of an unfiltered approximate search afterwards would not (txtai #915).

The subfolders of the corpus folder are its collections: ``folder="team-a"``
holds ``team-a/x.pdf`` and ``team-a/sub/y.txt``; ``""`` or ``"."`` names the
corpus folder itself, i.e. every document.

A date filter keeps the documents made on or after ``since`` and on or before
``until`` (ISO days, ``DocumentRecord.date``); a document without a date (an
index of an earlier version, until its next build) passes no date filter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

from . import messages
from .errors import VraagbaakError

__all__ = ["Scope", "folder_of", "list_folders", "list_types", "normalise_type", "scope", "type_of"]

Scope = frozenset  # of sources; ``None`` where a scope is expected means every document


def folder_of(source: str) -> str:
    """The folder of a source, relative to the corpus folder ("" for the top level)."""
    parent = str(PurePosixPath(source).parent)
    return "" if parent == "." else parent


def type_of(source: str) -> str:
    """The file type of a source: its suffix, lower case, without the dot ("pdf")."""
    return PurePosixPath(source).suffix.lower().lstrip(".")


def normalise_type(value: str) -> str:
    """"PDF", ".pdf" and "pdf" all name the type "pdf"."""
    return value.strip().lower().lstrip(".")


def _normalise_folder(value: str) -> str:
    return value.strip().strip("/").replace("\\", "/").removeprefix("./").strip("/") if value.strip() not in (".", "./") else ""


def list_folders(sources: Iterable[str]) -> list[str]:
    """Every folder that holds a document, at any depth, sorted ("" not included)."""
    found = set()
    for source in sources:
        folder = folder_of(source)
        while folder:
            found.add(folder)
            folder = folder_of(folder)
    return sorted(found)


def list_types(sources: Iterable[str]) -> list[str]:
    """The file types of the documents, sorted."""
    return sorted({type_of(s) for s in sources})


def _in_folder(source: str, folder: str) -> bool:
    return not folder or source.startswith(folder + "/")


def scope(
    sources: Iterable[str],
    *,
    source: str | None = None,
    folders: Iterable[str] = (),
    types: Iterable[str] = (),
    within: Iterable[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    date_of: Callable[[str], str] | None = None,
) -> Scope | None:
    """The sources a search may return, or None for every document.

    ``source``: one document; ``folders``: documents in any of these folders;
    ``types``: documents of any of these types; ``within``: a set the caller
    already allows (a user's collections); ``since``, ``until``: documents
    made on or after, on or before these ISO days (``date_of(source)`` says
    a document's; both ends included). The filters combine with AND;
    the values within one filter with OR. An empty filter restricts nothing.
    A folder, type or document the index does not hold is an error, so a
    typo never reads as "nothing found".
    """
    wanted_folders = [_normalise_folder(f) for f in folders if f is not None]
    wanted_types = [normalise_type(t) for t in types if t and t.strip()]
    dated = since is not None or until is not None
    if source is None and not wanted_folders and not wanted_types and within is None and not dated:
        return None  # before touching ``sources``: an unfiltered search costs nothing here, however many documents
    if dated and since is not None and until is not None and since > until:
        raise VraagbaakError(messages.since_after_until(since, until))
    known = set(sources)
    if source is not None and source not in known:
        raise VraagbaakError(messages.unknown_document(source))
    _check_known("de map", "mappen", [f for f in wanted_folders if f], set(list_folders(known)))
    _check_known("het bestandstype", "bestandstypen", wanted_types, {type_of(s) for s in known})
    allowed = set(known) if within is None else known & set(within)
    if source is not None:
        allowed &= {source}
    if wanted_folders:
        allowed = {s for s in allowed if any(_in_folder(s, f) for f in wanted_folders)}
    if wanted_types:
        allowed = {s for s in allowed if type_of(s) in wanted_types}
    if dated:
        allowed = {s for s in allowed if _in_period(date_of(s), since, until)}
    return frozenset(allowed)


def _in_period(day: str, since: str | None, until: str | None) -> bool:
    """ISO days compare as text: "2024-03-12" >= "2024-01-01"."""
    return bool(day) and (since is None or day >= since) and (until is None or day <= until)


def _check_known(what: str, plural: str, wanted: list[str], known: set[str]) -> None:
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise VraagbaakError(messages.unknown_filter_value(what, unknown[0], known, plural))
