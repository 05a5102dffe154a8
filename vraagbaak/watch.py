"""Following the corpus folder: a file saved, changed, removed, moved or renamed there is searchable within seconds.

``Watcher(live).start()`` (the page, ``app.py --watch``) or ``Watcher(live).run()``
(``vraagbaak watch``, a server without the page) runs one thread that:

1. listens for the operating system's file events on the corpus folder, through
   ``watchfiles`` (Rust's ``notify``: inotify on Linux, FSEvents on macOS,
   ReadDirectoryChangesW on Windows) — events cost nothing while nothing happens;
2. gathers them: a burst (500 files copied at once) waits until the folder has
   been quiet for ``WatchSettings.settle_ms``, and each changed file must keep
   its size and modification time over that time, so a file still being
   written (a slow copy, a scanner saving page by page) is read once complete;
   a file that never stops changing is read after ``max_wait_seconds`` anyway;
3. runs ``LiveIndex.update`` — the same incremental update a build does, one at
   a time (the page's button waits for it, and it for the button): only what
   changed is read, a moved or renamed file takes its vectors from its old name
   by content, a removed one leaves the index; searches keep being answered
   from the previous index until the new one is swapped in;
4. scans the whole folder every ``rescan_seconds`` as well, for changes no event
   reported: on a network share (NFS, SMB) the kernel sees only changes made
   through this machine's own mount, and events can be lost (an overflowing
   event queue, a folder too deep for the watch limit). When events cannot be
   had at all, the rescan is all there is, and ``status()`` says why.

A file that cannot be read is skipped with its reason, as in a build, and read
again only when it changes (``LiveIndex.update(retry_skipped=False)``). What
watching costs while nothing happens: README.md and BENCHMARKS.md
(``benchmarks/watch_idle.py``).

This module depends on ``live`` and never the other way round.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import messages
from .build import BuildReport
from .errors import VraagbaakError
from .live import LiveIndex
from .progress import BuildProgress
from .readers import SUFFIXES
from .stores import locate

__all__ = ["WatchSettings", "WatchStatus", "Watcher", "filesystem_type", "NETWORK_FILESYSTEMS"]

log = logging.getLogger(__name__)

# Filesystem types (Linux /proc/self/mountinfo) whose changes made elsewhere raise no event here.
NETWORK_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre", "fuse.sshfs",
                       "fuse.rclone", "fuse.davfs2", "davfs", "fuse.s3fs", "fuse.gcsfuse", "virtiofs", "vboxsf", "prl_fs")


@dataclass(frozen=True)
class WatchSettings:
    """How the watcher gathers events and how often it scans (the defaults are what ``app.py`` and ``vraagbaak watch`` use)."""

    settle_ms: int = 1000  # the folder quiet this long, and each changed file unchanged over it, before an update
    max_wait_seconds: float = 60.0  # a file that never stops changing is read after this long anyway
    rescan_seconds: float = 60.0  # a full scan this often (0: never), for changes no event reports (network shares)
    debounce_ms: int = 1600  # watchfiles: a burst of events is handed over at least this often ...
    step_ms: int = 50  # ... or after this much quiet
    update_first: bool = True  # an update as soon as the events are watched (catches changes made before)


@dataclass
class WatchStatus:
    """What the watcher is doing, for a status line (a snapshot: ``Watcher.status()``)."""

    running: bool = False
    events: bool = False  # the operating system's file events arrive (False: only the periodic scan)
    why_no_events: str = ""  # in Dutch, when ``events`` is False
    network_share: str = ""  # the filesystem type, when the corpus folder is on a network share
    pending: int = 0  # changed files waiting for the folder to settle
    updates: int = 0  # updates run since the start (that changed something or not)
    last_update: float | None = None  # time.time() when the last update finished
    last_report: BuildReport | None = None
    error: str = ""  # the last update's error, in the user's words ("" once an update succeeds)
    progress: BuildProgress | None = None  # of the update running now (None between updates)


@dataclass
class _Pending:
    """Changed paths waiting for the folder to settle: path -> (size, mtime_ns) when last looked at (None: gone)."""

    paths: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    since: float = 0.0  # monotonic time of the first of them


class Watcher:
    """Keeps a ``LiveIndex`` following its corpus folder (module docstring).

    ``on_line(text)`` gets one Dutch line per update that changed the index, per
    newly skipped file and per problem (the CLI prints them; default: the
    ``vraagbaak.watch`` logger); ``progress`` gets the running update's
    ``BuildProgress`` (a long OCR scan reports each page).
    """

    def __init__(self, live: LiveIndex, settings: WatchSettings = WatchSettings(), *,
                 on_line: Callable[[str], None] | None = None, progress: Callable[[BuildProgress], None] | None = None):
        self.live, self.settings = live, settings
        self._say = on_line or log.info
        self._progress = progress
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # guards _status
        self._status = WatchStatus()
        self._told: dict[str, str] = dict(live.skipped)  # source -> reason already said (by the update before, too), so a rescan does not repeat it
        self._corpus = Path(live.corpus_dir).resolve()
        self._excluded = _index_folders(live.index_dir, self._corpus)
        self._status.network_share = network_share(self._corpus)

    # ------------------------------------------------------------ control

    def start(self, after: threading.Thread | None = None) -> "Watcher":
        """Watch in a background thread (the page); ``stop()`` ends it. With ``after``, the thread
        first waits for that one to end (``app.py``: the model's warm-up, see ``_run_after``)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            target = self.run if after is None else (lambda: self._run_after(after))
            self._thread = threading.Thread(target=target, name="vraagbaak-watch", daemon=True)
            self._thread.start()
        return self

    def _run_after(self, first: threading.Thread) -> None:
        """``run`` once ``first`` has ended. The first scan may fork a pool of workers
        (``build.prepare_files``), and a fork while another thread imports can leave the
        child waiting forever for that import's lock; it is also the update a start
        no longer waits for (``app.py``), so it need not compete with the model's loading."""
        first.join()
        if not self._stop.is_set():
            self.run()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop watching; an update under way finishes first (it is never cut off halfway)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def status(self) -> WatchStatus:
        with self._lock:
            return dataclasses.replace(self._status)

    def run(self) -> None:
        """Watch until ``stop()`` (or Ctrl-C, when run in the main thread)."""
        self._set(running=True)
        try:
            first = self.settings.update_first
            while not self._stop.is_set():
                try:
                    self._follow_events(first)
                    first = False
                except _FolderReplaced:  # its watch went with the old folder: watch the new one, and scan it
                    first = True
                except Exception as exc:  # noqa: BLE001 - no events to be had (watch limit, folder gone, a filesystem without them)
                    if not isinstance(exc, OSError):
                        log.exception(messages.WATCHING_CRASHED)
                    why = _why_no_events(exc)
                    if self._status.events or not self._status.why_no_events:
                        self._say(messages.no_file_events(self._corpus, why, self.settings.rescan_seconds or 60))
                    self._set(events=False, why_no_events=why)
                    first = self._rescan_only(first)
        finally:
            self._set(running=False, pending=0)

    # ------------------------------------------------------------ events

    def _follow_events(self, update_first: bool) -> None:
        """Follow the OS's events until stopped; raises (an ``OSError``, mostly) when they cannot be had."""
        import watchfiles

        settings = self.settings
        pending = _Pending()
        folder = _identity(self._corpus)  # FileNotFoundError when it is not there (a share not mounted)
        next_scan = time.monotonic() + (settings.rescan_seconds or float("inf"))
        changes_stream = watchfiles.watch(
            self._corpus, watch_filter=self._relevant, debounce=settings.debounce_ms, step=settings.step_ms,
            rust_timeout=settings.settle_ms, yield_on_timeout=True, stop_event=self._stop,
            raise_interrupt=threading.current_thread() is threading.main_thread(), ignore_permission_denied=True,
        )
        for changes in changes_stream:
            if _identity(self._corpus, missing=None) != folder:
                raise _FolderReplaced()  # removed, or renamed away and made anew: no event will come from it again
            self._set(events=True, why_no_events="")
            now = time.monotonic()
            if update_first:  # the events are being watched now: what changed before is in this scan
                update_first = False
                self._update()
                next_scan = time.monotonic() + (settings.rescan_seconds or float("inf"))
            if changes:
                if not pending.paths:
                    pending.since = now
                pending.paths.update({path: _stat(path) for _, path in changes})
                self._set(pending=len(pending.paths))
                continue
            if pending.paths:  # quiet for settle_ms since the last event
                settled = {path: _stat(path) for path in pending.paths}
                if settled != pending.paths and now - pending.since < settings.max_wait_seconds:
                    pending.paths = settled  # still being written without events (a network share): wait another round
                    continue
                pending.paths.clear()
                self._set(pending=0)
                self._update()
                next_scan = time.monotonic() + (settings.rescan_seconds or float("inf"))
            elif now >= next_scan:
                self._update()
                next_scan = time.monotonic() + (settings.rescan_seconds or float("inf"))

    def _rescan_only(self, update_first: bool) -> bool:
        """Without events: a scan every ``rescan_seconds`` until the events can be tried again (at the next one)."""
        if update_first:
            self._update()
        if not self._stop.wait(self.settings.rescan_seconds or 60.0):
            self._update()
        return False

    def _relevant(self, change, path: str) -> bool:
        """Could this event change what the index holds? (What ``corpus.scan_corpus`` would list, or a folder.)"""
        if any(path == folder or path.startswith(folder + os.sep) for folder in self._excluded):
            return False
        try:
            relative = Path(path).relative_to(self._corpus)
        except ValueError:
            return False
        if any(part.startswith((".", "~$")) for part in relative.parts):
            return False  # hidden files and folders, and Office's lock files, are not documents
        suffix = relative.suffix.lower()
        if suffix in SUFFIXES or os.path.isdir(path):
            return True
        # gone: it may have been a folder ("rapporten" moved away); a file of another type never counted
        return not suffix and not os.path.lexists(path)

    # ----------------------------------------------------------- updating

    def _update(self) -> None:
        """One ``LiveIndex.update`` (waits for one the page may be running); its outcome in the status and one line."""
        def progress(p: BuildProgress) -> None:
            self._set(progress=p)
            if self._progress:
                self._progress(p)

        try:
            report = self.live.update(progress=progress, on_skip=self._skipped, retry_skipped=False)
        except VraagbaakError as exc:
            if str(exc) != self._status.error:
                self._say(messages.update_failed(exc))
            self._set(error=str(exc), progress=None)
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not end the watching; the traceback goes to the log
            log.exception(messages.UPDATE_CRASHED)
            self._set(error=f"{type(exc).__name__}: {exc}", progress=None)
            return
        with self._lock:
            self._status.updates += 1
            self._status.last_update = time.time()
            self._status.last_report = report
            self._status.error = ""
            self._status.progress = None
        self._told = {s: r for s, r in self._told.items() if s in self.live.skipped}  # a file read since is told again if it breaks
        if report.written:
            self._say(describe_update(report))

    def _skipped(self, source: str, reason: str) -> None:
        if self._told.get(source) != reason:
            self._told[source] = reason
            self._say(messages.skipped(source, reason))

    def _set(self, **values) -> None:
        with self._lock:
            for name, value in values.items():
                setattr(self._status, name, value)


# ----------------------------------------------------------------- lines


def describe_update(report: BuildReport) -> str:
    """One Dutch line for an update that changed the index."""
    parts = [f"{n} {what}" for n, what in ((report.documents_added, "toegevoegd"), (report.documents_changed, "gewijzigd"),
                                           (report.documents_removed, "verwijderd")) if n]
    if report.documents_dated:
        parts.append(f"{report.documents_dated} gedateerd")
    embedded = f"; {report.passages_embedded} passages ingebed, {report.passages_reused} hergebruikt" if report.passages_embedded else ""
    seconds = f"{report.seconds:.1f}".replace(".", ",")
    return f"{time.strftime('%H:%M:%S')} index bijgewerkt: {', '.join(parts) or 'bestandsgegevens'}{embedded} ({seconds} s)"


# ---------------------------------------------------------------- helpers


class _FolderReplaced(Exception):
    """The corpus folder is not the one being watched any more."""


def _identity(folder: Path, missing=FileNotFoundError):
    """(device, inode) of the folder; ``missing`` is raised when it is gone, or returned when it is not an exception class."""
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        if isinstance(missing, type) and issubclass(missing, BaseException):
            raise missing(f"{folder} is not there")
        return missing
    return st.st_dev, st.st_ino


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _index_folders(index_dir, corpus: Path) -> list[str]:
    """Folders the index writes to, when they lie inside the corpus folder (their events are the index's own)."""
    location = locate(index_dir)
    folder = getattr(location, "root", None)
    if folder is None and getattr(location, "is_lite", False):
        folder = location.uri
    if folder is None:
        return []
    folder = Path(folder).resolve()
    return [str(folder)] if folder == corpus or folder.is_relative_to(corpus) else []


def filesystem_type(path: str | Path) -> str | None:
    """The type of the filesystem ``path`` is on ("ext4", "nfs4", "cifs"), from Linux's mount table; None elsewhere."""
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    path = str(Path(path).resolve())
    best, kind = "", None
    for line in lines:
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        mount = fields[4].replace("\\040", " ")
        if (path == mount or path.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
            best, kind = mount, line.split(" - ", 1)[1].split()[0]
    return kind


def network_share(path: Path) -> str:
    """The filesystem type when ``path`` is on a network share (events see only this machine's changes), else ""."""
    kind = filesystem_type(path) or ""
    return kind if kind in NETWORK_FILESYSTEMS or kind.startswith(("nfs", "smb", "cifs")) else ""


def _why_no_events(exc: Exception) -> str:
    text = str(exc)
    if "watch limit" in text.lower() or getattr(exc, "errno", None) == 28:
        return ("het besturingssysteem volgt niet zoveel mappen (verhoog fs.inotify.max_user_watches); "
                "wijzigingen worden alleen bij de periodieke scan gezien")
    if isinstance(exc, FileNotFoundError):
        return "de map bestaat (nog) niet"
    return f"geen meldingen van het besturingssysteem ({text or type(exc).__name__})"
