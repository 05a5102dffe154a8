"""Judgments of hits ("did this answer your question?"), kept privately and turned into an eval set.

A reader who just asked a question knows whether a hit answered it. This
module keeps those judgments and makes the team's own yardstick of them:

- ``ShownHits``: what the server showed whom for which question, in memory,
  bounded and expiring. The search path records into it; a judgment is
  accepted only for a hit found there, so nobody can judge (and thereby
  store the name of) a passage they were never shown.
- ``Feedback``: the judgments, in one SQLite file (WAL; every write one
  transaction; ``secure_delete`` so that deleted rows are overwritten) in the
  index folder, or a folder the caller names for a Milvus index. Off unless a
  caller opens it. A hit is identified by what survives index updates (its
  source, the SHA-256 of the passage text and its span, the answer sentence
  and page), never by a row number. Entries older than the retention period
  (default 365 days) are deleted.
- ``export_questions``, ``quality``, ``ranks_over_time``: the positive
  judgments as the question format of ``evaluate.read_questions``, the figures
  of the current index on them (the numbers ``vraagbaak eval --as-is`` gives
  on that export), the negative judgments whose passage still ranks first,
  and the ranks judged hits had when they were judged, per week.

A judgment about a passage that is no longer in the index as it was judged
(the document removed, or its text at that span changed) is *flagged* and
left out of every figure, never silently counted.

Every reading function takes ``visible``: the sources the reader may see (a
set, or a predicate such as ``Account.may_see``; None: all). Judgments about
other documents are never returned. Who may read at all (a redacteur) is the
caller's rule.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from . import messages
from .errors import VraagbaakError
from .evaluate import Question, metrics
from .search import check_question, join_passages

__all__ = [
    "FEEDBACK_FILE",
    "JUDGMENTS",
    "Counts",
    "Export",
    "Feedback",
    "FeedbackRefused",
    "FeedbackSettings",
    "Flagged",
    "Judgment",
    "Quality",
    "ShownHit",
    "ShownHits",
    "check_current",
    "count",
    "export_questions",
    "feedback_folder",
    "hit_key",
    "parse_since",
    "quality",
    "ranks_over_time",
    "text_hash",
]

FEEDBACK_FILE = "feedback.sqlite"
JUDGMENTS = ("positive", "negative")
# What a caller may send for a judgment: the API's words and the page's Dutch ones.
_JUDGMENT_WORDS = {"positive": "positive", "positief": "positive", "ja": "positive",
                   "negative": "negative", "negatief": "negative", "nee": "negative"}
_FORMAT = 1
# The figures of ``quality`` are those of ``vraagbaak eval`` with its defaults: hybrid, the top 10.
QUALITY_MODE, QUALITY_K = "hybrid", 10
REMOVED = "het document staat niet meer in de index"
CHANGED = "de passage staat niet meer zo in het document (tekst of indeling gewijzigd sinds het oordeel)"

# The documents a reader may see: a set of sources, or a predicate such as ``Account.may_see`` (which also
# covers documents removed since); None: every document.
Visible = Callable[[str], bool] | Collection[str] | None


class FeedbackRefused(VraagbaakError):
    """A judgment the server does not accept (not shown to this user for this question, or malformed)."""


@dataclass(frozen=True)
class FeedbackSettings:
    """The knobs of collecting judgments (the server's; readers take the retention the file records)."""

    retention_days: int = 365  # judgments older than this are deleted
    record_names: bool = True  # with accounts: keep the user's name with each judgment (False: no name at all)
    # The shown-hits memory. A results list can be judged this long after it was
    # shown: a working day, as long as a login lasts.
    shown_seconds: float = 8 * 3600
    shown_questions_per_viewer: int = 100  # one person's day of questions; older ones are forgotten first
    shown_hits_per_question: int = 200  # the same question asked again with other filters adds hits; the latest are kept
    shown_hits_total: int = 50_000  # about 25 MB at most (measured with tracemalloc: ~500 bytes a hit with a 150-character answer)


def text_hash(text: str) -> str:
    """The SHA-256 of a passage's text (hex): with its span, what identifies it across index updates."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hit_key(hit) -> str:
    """How a page or an API client names a hit of a results list: ``source#start-end`` (unique within a list)."""
    return f"{hit.source}#{hit.start}-{hit.end}"


@dataclass(frozen=True)
class ShownHit:
    """A hit as it was shown: everything a judgment records about it, taken from the server's results, never from the client."""

    key: str
    source: str
    start: int
    end: int
    text_sha256: str
    answer: str
    answer_start: int
    answer_end: int
    page: int | None
    rank: int

    @classmethod
    def of(cls, hit) -> "ShownHit":
        """From a ``search.Hit`` (its rank as shown: the page renumbers the good matches 1, 2, 3 …)."""
        return cls(hit_key(hit), hit.source, hit.start, hit.end, text_hash(hit.text), hit.answer or "",
                   hit.answer_start, hit.answer_end, hit.page, hit.rank)


class ShownHits:
    """Per viewer (an account name, or a session without accounts) and question: the hits shown, for a while.

    Bounded three ways (``FeedbackSettings``): an entry expires ``shown_seconds``
    after it was last shown; a viewer keeps their ``shown_questions_per_viewer``
    latest questions; all entries together hold at most ``shown_hits_total``
    hits, the least recently shown forgotten first. Thread-safe.
    """

    def __init__(self, settings: FeedbackSettings = FeedbackSettings(), clock: Callable[[], float] = time.monotonic):
        self.settings, self.clock = settings, clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, dict[str, ShownHit]]] = OrderedDict()  # least recent first
        self._per_viewer: dict[str, OrderedDict[str, None]] = {}
        self._hits = 0
        self._lock = threading.Lock()

    def record(self, viewer: str, question: str, hits: Iterable) -> None:
        """Remember ``hits`` (``search.Hit``s as shown) for ``viewer``'s ``question``; a list shown again joins the earlier one."""
        shown = {h.key: h for h in map(ShownHit.of, hits)}
        if not shown:
            return
        key = (viewer, question)
        with self._lock:
            self._expire()
            _, earlier = self._pop(key) or (0.0, {})
            merged = {k: h for k, h in earlier.items() if k not in shown} | shown  # the latest list last
            merged = dict(list(merged.items())[-self.settings.shown_hits_per_question:])
            self._entries[key] = (self.clock(), merged)
            self._per_viewer.setdefault(viewer, OrderedDict())[question] = None
            self._hits += len(merged)
            self._bound(viewer)

    def find(self, viewer: str, question: str, key: str) -> ShownHit | None:
        """The hit named ``key`` if it was shown to ``viewer`` for ``question`` and is still remembered."""
        with self._lock:
            self._expire()
            entry = self._entries.get((viewer, question))
            return None if entry is None else entry[1].get(key)

    def shown(self, viewer: str, question: str) -> list[ShownHit]:
        """The hits remembered for ``viewer``'s ``question`` (to show their judgments), best rank first."""
        with self._lock:
            self._expire()
            entry = self._entries.get((viewer, question))
            return [] if entry is None else sorted(entry[1].values(), key=lambda h: h.rank)

    def __len__(self) -> int:
        """Hits remembered."""
        return self._hits

    def _pop(self, key):
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._hits -= len(entry[1])
            questions = self._per_viewer[key[0]]
            del questions[key[1]]
            if not questions:
                del self._per_viewer[key[0]]
        return entry

    def _expire(self) -> None:
        oldest = self.clock() - self.settings.shown_seconds
        while self._entries:
            key, (shown_at, _) = next(iter(self._entries.items()))
            if shown_at >= oldest:
                break
            self._pop(key)

    def _bound(self, viewer: str) -> None:
        questions = self._per_viewer.get(viewer, {})
        while len(questions) > self.settings.shown_questions_per_viewer:
            self._pop((viewer, next(iter(questions))))
        while self._hits > self.settings.shown_hits_total:
            self._pop(next(iter(self._entries)))


# ------------------------------------------------------------------ records


@dataclass(frozen=True)
class Judgment:
    """One stored judgment: the question, the hit as shown, the verdict, when and (if kept) by whom."""

    question: str
    source: str
    text_sha256: str  # of the passage text
    start: int  # the passage's span in the document's text
    end: int
    answer: str  # the answer sentence shown
    answer_start: int
    answer_end: int
    page: int | None
    rank: int  # as shown
    judgment: str  # "positive" or "negative"
    judged_at: str  # ISO 8601, UTC ("2026-01-31T09:15:00Z")
    user: str | None  # the account name; None without accounts or with record_names off

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Flagged:
    """A judgment left out of the figures: its passage is not in the current index as it was judged."""

    judgment: Judgment
    reason: str  # REMOVED or CHANGED

    def to_dict(self) -> dict:
        return {**self.judgment.to_dict(), "reason": self.reason}


@dataclass(frozen=True)
class Counts:
    judgments: int
    positive: int
    negative: int
    questions: int  # distinct questions judged
    documents: int  # distinct documents judged
    users: int  # distinct named users (0 without names)
    first: str | None  # the oldest and newest judgment's time
    last: str | None

    def to_dict(self) -> dict:
        return asdict(self)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS judgments (
    id INTEGER PRIMARY KEY,
    judge TEXT NOT NULL UNIQUE,  -- keyed hash of (viewer, question, hit): the same person re-judging replaces
    question TEXT NOT NULL,
    source TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    answer TEXT NOT NULL,
    answer_start INTEGER NOT NULL,
    answer_end INTEGER NOT NULL,
    page INTEGER,
    rank INTEGER NOT NULL,
    judgment TEXT NOT NULL CHECK (judgment IN ('positive', 'negative')),
    judged_at TEXT NOT NULL,
    user TEXT
);
CREATE INDEX IF NOT EXISTS judgments_by_time ON judgments (judged_at);
"""
_COLUMNS = ("question", "source", "text_sha256", "start", '"end"', "answer", "answer_start", "answer_end", "page", "rank",
            "judgment", "judged_at", "user")
# A judgment by the same judge (viewer, question and hit) replaces the earlier one in place.
_UPSERT = (f"INSERT INTO judgments (judge, {', '.join(_COLUMNS)}) VALUES ({', '.join('?' * (len(_COLUMNS) + 1))}) "
           f"ON CONFLICT (judge) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _COLUMNS)}")


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_since(value: str) -> str:
    """``--since``: a date ("2026-01-31"), a date and time (local unless it names a zone), or "30d" (the last 30 days).
    Returns the moment as ``Judgment.judged_at`` writes it."""
    text = value.strip()
    days = re.fullmatch(r"(\d{1,5})\s*d", text)
    if days:
        return _iso(time.time() - int(days.group(1)) * 86400)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise VraagbaakError(messages.bad_since(value)) from None
    return _iso(moment.timestamp())  # a time without a zone is this machine's local time


def _visibility(visible: Visible) -> Callable[[str], bool]:
    if visible is None:
        return lambda source: True
    if callable(visible):
        return visible
    allowed = frozenset(visible)
    return allowed.__contains__


def feedback_folder(index, path: str | Path | None = None) -> Path:
    """Where the judgments of ``index`` (a folder, or "milvus:…") are kept: ``path`` if given, else the index folder."""
    if path is not None:
        return Path(path)
    if str(index).startswith("milvus:"):
        raise VraagbaakError(messages.MILVUS_FEEDBACK_NEEDS_FOLDER)
    return Path(index)


class Feedback:
    """The judgments file of one index, and the memory of what was shown: what the page and ``/feedback`` call.

    >>> feedback = Feedback.open("index")                      # the server, started with --feedback
    >>> feedback.shown(viewer, question, hits)                  # the search path, for the hits it returns
    >>> feedback.judge(viewer, question, hit_key(hit), "positive", user="anna")

    ``viewer``: whose results these are (the account name; without accounts the
    page's session); ``user``: the name to record with the judgment (None
    without accounts; not kept when ``record_names`` is off). Thread-safe; other
    processes (the command line) may read and delete at the same time.
    """

    def __init__(self, path: Path, settings: FeedbackSettings, con: sqlite3.Connection, clock: Callable[[], float] = time.time):
        self.path, self.settings, self.clock = path, settings, clock
        self._con = con
        self._lock = threading.Lock()
        self.shown_hits = ShownHits(settings)
        # Without names, a judgment is linked to its judge only by a key that dies with this process.
        self._salt = bytes.fromhex(self._meta("salt")) if settings.record_names else secrets.token_bytes(32)
        self._purged_at = -float("inf")

    # ------------------------------------------------------------ opening

    @classmethod
    def open(cls, folder: str | Path, settings: FeedbackSettings = FeedbackSettings(), *, clock: Callable[[], float] = time.time) -> "Feedback":
        """Open (creating it if need be) the judgments file in ``folder``, with the server's ``settings``."""
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / FEEDBACK_FILE
            if not path.exists():  # personal data: readable by its owner only (SQLite gives its WAL the same mode)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            con = _connect(path)
            with con:
                con.executescript(_SCHEMA)
                con.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?), ('salt', ?)", (str(_FORMAT), secrets.token_hex(32)))
                con.execute("INSERT OR REPLACE INTO meta VALUES ('retention_days', ?)", (str(int(settings.retention_days)),))
        except (OSError, sqlite3.Error) as exc:
            raise VraagbaakError(messages.judgments_not_kept(folder, exc)) from exc
        feedback = cls(path, settings, con, clock)
        feedback.purge()
        return feedback

    @classmethod
    def read(cls, folder: str | Path, *, clock: Callable[[], float] = time.time) -> "Feedback | None":
        """The judgments file in ``folder`` as its server keeps it (its retention), or None when there is none:
        the command line's way in, which never creates one."""
        path = Path(folder) / FEEDBACK_FILE
        if not path.is_file():
            return None
        try:
            con = _connect(path)
            days = con.execute("SELECT value FROM meta WHERE key = 'retention_days'").fetchone()
        except sqlite3.Error as exc:
            raise VraagbaakError(messages.judgments_unreadable(path, exc)) from exc
        settings = FeedbackSettings(retention_days=int(days[0]) if days else FeedbackSettings.retention_days)
        feedback = cls(path, settings, con, clock)
        try:
            feedback.purge()
        except VraagbaakError:
            pass  # a folder we may only read: what is past retention is still never returned
        return feedback

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def _meta(self, key: str) -> str | None:
        row = self._con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------ the page's calls

    def shown(self, viewer: str, question: str, hits: Iterable) -> None:
        """Remember the hits the server shows ``viewer`` for ``question`` (the only ones they may judge)."""
        try:
            question = check_question(question)
        except VraagbaakError:
            return  # no search was made, so nothing was shown
        self.shown_hits.record(viewer, question, hits)

    def judge(self, viewer: str, question: str, hit: str, judgment: str, *, user: str | None = None, visible: Visible = None) -> Judgment:
        """Store ``viewer``'s ``judgment`` ("positive" or "negative"; Dutch "positief"/"negatief" too) of the hit
        ``hit`` (``hit_key``) shown for ``question``, replacing their earlier judgment of it.

        Refused (``FeedbackRefused``, a Dutch message) unless that hit was shown to
        ``viewer`` for ``question`` and is still remembered, and, with ``visible``,
        unless they may still see its document."""
        verdict = _JUDGMENT_WORDS.get(str(judgment).strip().lower()) if isinstance(judgment, str) else None
        if verdict is None:
            raise FeedbackRefused(messages.unknown_judgment(judgment))
        question, shown = self._shown(viewer, question, hit, visible)
        record = Judgment(question, shown.source, shown.text_sha256, shown.start, shown.end, shown.answer,
                          shown.answer_start, shown.answer_end, shown.page, shown.rank, verdict, _iso(self.clock()),
                          user if self.settings.record_names else None)
        self._write(_UPSERT, (self._judge_key(viewer, question, shown), *(getattr(record, c.strip('"')) for c in _COLUMNS)))
        if self.clock() - self._purged_at > 3600:
            self.purge()
        return record

    def withdraw(self, viewer: str, question: str, hit: str, *, visible: Visible = None) -> bool:
        """Take back ``viewer``'s judgment of a hit shown for ``question``; whether there was one."""
        question, shown = self._shown(viewer, question, hit, visible)
        return self._write("DELETE FROM judgments WHERE judge = ?", (self._judge_key(viewer, question, shown),)) > 0

    def choices(self, viewer: str, question: str) -> dict[str, str]:
        """``hit_key`` -> "positive"/"negative" for each remembered hit of ``viewer``'s ``question`` they judged
        (for the page to show the choice made)."""
        try:
            question = check_question(question)
        except VraagbaakError:
            return {}
        shown = {self._judge_key(viewer, question, h): h.key for h in self.shown_hits.shown(viewer, question)}
        if not shown:
            return {}
        with self._lock:
            rows = self._con.execute(f"SELECT judge, judgment FROM judgments WHERE judge IN ({', '.join('?' * len(shown))})",
                                     list(shown)).fetchall()
        return {shown[judge]: verdict for judge, verdict in rows}

    def _shown(self, viewer: str, question: str, hit: str, visible: Visible) -> tuple[str, ShownHit]:
        """(the question as searched, the hit ``hit`` as shown to ``viewer`` for it), or ``FeedbackRefused``."""
        if not isinstance(viewer, str) or not isinstance(hit, str) or len(hit) > 4096:
            raise FeedbackRefused(messages.JUDGMENT_NOT_SHOWN)
        try:
            question = check_question(question)
        except VraagbaakError as exc:
            raise FeedbackRefused(str(exc)) from None
        shown = self.shown_hits.find(viewer, question, hit)
        if shown is None or not _visibility(visible)(shown.source):
            raise FeedbackRefused(messages.JUDGMENT_NOT_SHOWN)  # the same words either way: a refusal tells nothing about other documents
        return question, shown

    def _judge_key(self, viewer: str, question: str, hit: ShownHit) -> str:
        message = "\x00".join((viewer, question, hit.source, str(hit.start), str(hit.end), hit.text_sha256))
        return hmac.new(self._salt, message.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def _write(self, sql: str, params=()) -> int:
        try:
            with self._lock, self._con:
                return self._con.execute(sql, params).rowcount
        except sqlite3.Error as exc:
            raise VraagbaakError(messages.judgments_not_written(self.path, exc)) from exc

    # ------------------------------------------------------------ reading and deleting

    def judgments(self, *, visible: Visible = None, since: str | None = None) -> list[Judgment]:
        """Every judgment kept (within the retention period; from ``since``, an ISO time, if given), oldest first,
        about the documents ``visible`` names."""
        cutoff = max(self._cutoff(), since or "")
        with self._lock:
            rows = self._con.execute(f"SELECT {', '.join(_COLUMNS)} FROM judgments WHERE judged_at >= ? ORDER BY judged_at, id",
                                     (cutoff,)).fetchall()
        may_see = _visibility(visible)
        return [Judgment(*row) for row in rows if may_see(row[1])]

    def counts(self, *, visible: Visible = None, since: str | None = None) -> Counts:
        return count(self.judgments(visible=visible, since=since))

    def purge(self) -> int:
        """Delete the judgments past the retention period; how many."""
        self._purged_at = self.clock()
        deleted = self._write("DELETE FROM judgments WHERE judged_at < ?", (self._cutoff(),))
        if deleted:
            self._checkpoint()
        return deleted

    def delete_all(self) -> int:
        """Delete every judgment, and leave no copy of them in the file or its journal; how many there were."""
        deleted = self._write("DELETE FROM judgments")
        try:
            with self._lock:
                self._con.execute("VACUUM")
        except sqlite3.Error as exc:
            raise VraagbaakError(messages.judgments_not_emptied(self.path, exc)) from exc
        self._checkpoint()
        return deleted

    def _checkpoint(self) -> None:
        """Copy the WAL into the file and empty it: what was deleted is then overwritten everywhere (secure_delete)."""
        with self._lock:
            self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # best effort: a reader elsewhere may hold it back

    def _cutoff(self) -> str:
        return _iso(self.clock() - self.settings.retention_days * 86400)


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, check_same_thread=False, timeout=10.0)  # ``with con``: one transaction per write
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")  # a judgment acknowledged is on disk (BENCHMARKS.md: its cost)
    con.execute("PRAGMA secure_delete=ON")  # deleted judgments are overwritten, not left in free pages
    return con


def count(judgments: list[Judgment]) -> Counts:
    """``Counts`` of a list of judgments."""
    positive = sum(j.judgment == "positive" for j in judgments)
    return Counts(len(judgments), positive, len(judgments) - positive, len({j.question for j in judgments}),
                  len({j.source for j in judgments}), len({j.user for j in judgments if j.user}),
                  judgments[0].judged_at if judgments else None, judgments[-1].judged_at if judgments else None)


# ------------------------------------------------------------------ against the current index


def _spans(document_passages) -> set[tuple[int, int, str]]:
    """(start, end, text hash) of every hit a search can show of a document: each passage, and each
    two neighbours that overlap, joined (``search.one_per_stretch``)."""
    spans = {(p.start, p.end, text_hash(p.text)) for p in document_passages}
    for a, b in zip(document_passages, document_passages[1:]):
        if b.start < a.end:
            joined = join_passages(a, b)
            spans.add((joined.start, joined.end, text_hash(joined.text)))
    return spans


def check_current(judgments: list[Judgment], store) -> tuple[list[Judgment], list[Flagged]]:
    """(judgments whose passage the index ``store`` holds as judged, the others flagged with the reason).

    As judged: a passage of that source with the same span and the same text hash."""
    records = store.document_records
    passages: dict[str, set[tuple[int, int, str]]] = {}
    current, flagged = [], []
    for j in judgments:
        if j.source not in records:
            flagged.append(Flagged(j, REMOVED))
            continue
        if j.source not in passages:
            passages[j.source] = _spans(store.document_passages(j.source))
        if (j.start, j.end, j.text_sha256) in passages[j.source]:
            current.append(j)
        else:
            flagged.append(Flagged(j, CHANGED))
    return current, flagged


@dataclass(frozen=True)
class Export:
    """The positive judgments as question lines, and what was left out."""

    questions: list[dict]  # {"query", "sources", "answer", "page", "judgments"}: ``evaluate.read_questions`` reads them
    positive: int  # positive judgments considered
    flagged: list[Flagged]  # judgments (positive or negative) about passages changed since

    def as_questions(self) -> list[Question]:
        return [Question(q["query"], tuple(q["sources"]), q.get("answer")) for q in self.questions]


def export_questions(feedback: Feedback, store, *, visible: Visible = None, since: str | None = None) -> Export:
    """One question line per positively judged hit that the index ``store`` still holds as judged.

    The same hit judged positive by several people (or again) is one line,
    with ``judgments`` saying how many; its ``answer`` is the answer sentence
    last shown (left out when none was shown: then any passage of the source counts)."""
    current, flagged = check_current(feedback.judgments(visible=visible, since=since), store)
    lines: dict[tuple, dict] = {}
    positive = 0
    for j in current:
        if j.judgment != "positive":
            continue
        positive += 1
        key = (j.question, j.source, j.start, j.end, j.text_sha256)
        line = lines.setdefault(key, {"query": j.question, "sources": [j.source]})
        if j.answer.strip():
            line["answer"] = j.answer  # the latest judgment's (they come oldest first)
        else:
            line.pop("answer", None)
        line.update(page=j.page, judgments=line.get("judgments", 0) + 1)
    return Export(list(lines.values()), positive, flagged)


@dataclass(frozen=True)
class Quality:
    """What the redacteur's quality panel shows, computed on the current index."""

    counts: Counts
    evaluated: int  # question lines the figures are over (``Export.questions``)
    hit_at_1: float | None  # of the current index on them (None: no positive judgment to measure on)
    mrr_at_10: float | None
    metrics: dict | None  # everything ``evaluate.metrics`` gives
    negatives_checked: int  # negative judgments of passages still in the index as judged
    wrong_first: list[Judgment]  # of those, the ones whose passage the index still ranks first
    flagged: list[Flagged]  # judgments about passages changed since: in no figure
    weeks: list[dict]  # ``ranks_over_time``
    seconds: float = 0.0  # what the searches took

    def to_dict(self) -> dict:
        out = asdict(self)
        out["wrong_first"] = [j.to_dict() for j in self.wrong_first]
        out["flagged"] = [f.to_dict() for f in self.flagged]
        return out


def quality(feedback: Feedback, index, *, visible: Visible = None, since: str | None = None) -> Quality:
    """The panel's figures: the counts, hit@1 and mrr@10 of ``index`` (an ``Index``) on the exported questions,
    the negative judgments whose passage still ranks first, and the ranks over time.

    The figures equal those of ``vraagbaak eval --as-is`` on ``feedback export``'s
    file (the same questions, the same search: hybrid, top 10, the index's own
    ranking). With ``visible`` the questions are those about visible documents
    and the searches stay within them (for a reader limited to collections
    the figures are of the search they get)."""
    judgments = feedback.judgments(visible=visible, since=since)
    exported = export_questions(feedback, index.store, visible=visible, since=since)
    current, _ = check_current([j for j in judgments if j.judgment == "negative"], index.store)
    within = None if visible is None else frozenset(s for s in index.documents if _visibility(visible)(s))
    t0 = time.perf_counter()
    rankings = _rankings(index, [q["query"] for q in exported.questions] + [j.question for j in current], within)
    questions = exported.as_questions()
    scores = metrics(questions, [rankings[q.query] for q in questions]) if questions else None
    wrong_first = [j for j in current if _ranks_first(j, rankings[j.question])]
    return Quality(count(judgments), len(questions), None if scores is None else scores["hit@1"],
                   None if scores is None else scores["mrr@10"], scores, len(current), wrong_first, exported.flagged,
                   ranks_over_time(judgments), round(time.perf_counter() - t0, 2))


def _rankings(index, queries: list[str], within) -> dict[str, list[dict]]:
    """Each distinct question searched once, as ``evaluate.evaluate`` searches (answer sentence of the first hit only)."""
    out = {}
    for query in dict.fromkeys(queries):
        hits = index.search(query, k=QUALITY_K, mode=QUALITY_MODE, answers=1, within=within)
        out[query] = [{"source": h.source, "text": h.text, "answer": h.answer, "start": h.start, "end": h.end} for h in hits]
    return out


def _ranks_first(j: Judgment, ranking: list[dict]) -> bool:
    top = ranking[0] if ranking else None
    return bool(top) and (top["source"], top["start"], top["end"], text_hash(top["text"])) == (j.source, j.start, j.end, j.text_sha256)


def ranks_over_time(judgments: list[Judgment]) -> list[dict]:
    """Per ISO week (Monday ``start``), the ranks the judged hits had when they were judged, for a plot:
    ``judgments``, ``positive``, ``negative``; and of the positively judged hits
    ``mean_rank``, ``share_first`` (at rank 1) and ``mrr`` (mean 1/rank) — rising
    ``share_first`` and ``mrr`` mean the right passage came up higher."""
    weeks: dict[date, list[Judgment]] = {}
    for j in judgments:
        day = date.fromisoformat(j.judged_at[:10])
        weeks.setdefault(day - timedelta(days=day.weekday()), []).append(j)
    out = []
    for start, group in sorted(weeks.items()):
        ranks = [j.rank for j in group if j.judgment == "positive"]
        year, week, _ = start.isocalendar()
        out.append({"week": f"{year}-W{week:02d}", "start": start.isoformat(), "judgments": len(group), "positive": len(ranks),
                    "negative": len(group) - len(ranks),
                    "mean_rank": round(sum(ranks) / len(ranks), 3) if ranks else None,
                    "share_first": round(sum(r == 1 for r in ranks) / len(ranks), 4) if ranks else None,
                    "mrr": round(sum(1 / r for r in ranks) / len(ranks), 4) if ranks else None})
    return out
