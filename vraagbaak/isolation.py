"""Reading files in worker processes of their own, with a memory ceiling: a file made
to exhaust a reader (a "bomb") costs that file only, never the build or the server.

Each worker is a fresh interpreter, started as a program of its own (not
forked): no model, no index, none of the parent's threads. At its start it limits its own address space (RLIMIT_AS) to
what it already has plus ``IsolationSettings.memory_bytes``; an allocation
beyond that fails inside the worker, which reports "te groot om te lezen" and
is replaced, or — in C code that aborts when an allocation fails, as PDFium
does — the worker dies and its file is skipped with the reason. A child
process (Tesseract) inherits the same limit. Where the limit does not exist
(Windows, macOS) the workers still keep a crash from the parent, without a ceiling.

Why this way (measured with ``benchmarks/reader_ceiling.py``, BENCHMARKS.md "Round 4"):
a forked worker inherits the parent's address space (a build holding the
bundled model and an index: 1.5 GB, more in the server), so an absolute limit
below that fails every allocation and one above it is no ceiling; a limit
relative to the fork point works, but the child inherits the parent's threads'
locks (the server forks while other threads search) and its pages, which also
makes its resident size no measure of what the file costs. The parent watching
each worker (psutil every 100 ms) caught the bombs 0.05-0.1 GB past its line
(a faster allocation gets further between two looks), and a kill tells no
reason. A fresh worker starts in about 0.2 s at 40 MB resident; its ceiling
is exact and its reason precise. Idle workers are kept as spares for the next
pool (``Workers.close``), so a build's workers serve the upload that follows.

The pool is written here rather than taken from a library: ``multiprocessing.Pool``
waits forever for a task whose worker the kernel killed; ``ProcessPoolExecutor``
breaks the whole pool when one worker dies and cannot stop a task that hangs;
pebble shares one task queue and its lock between its workers, so a worker
killed while holding that lock stalls the pool (noxdafox/pebble#163, #97). Here
each worker has a pipe of its own, and the parent waits on all the pipes at
once: a worker's death closes its pipe, so it is seen at once and touches
nothing but that worker's task. Results come back one item at a time, so a worker that
dies in a batch loses only the item it was on; that item is tried once more
alone in a fresh worker (the death may have come from an earlier file's
leftovers), and is lost only when a fresh worker dies on it too.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Callable, Iterable, Iterator

__all__ = ["Failed", "IsolationSettings", "Workers", "size_nl"]

GB = 1024**3


@dataclass(frozen=True)
class IsolationSettings:
    """How files are read apart from the process that indexes or serves them."""

    # Address space a worker may take beyond its own start (about 150 MB: an
    # interpreter with Vraagbaak's modules). 1.5 GB holds the largest reads the
    # limits let through (a DOCX with 100 MB of XML: ~0.6 GB; a 50-megapixel
    # page: ~0.3 GB, and Tesseract on it, a process of its own, 0.25 GB); two
    # workers at their ceiling and a build's parent stay within 4 GB.
    memory_bytes: int = int(1.5 * GB)
    # A worker that reports nothing this long (no page recognised, no file
    # finished) is stopped and its file skipped. The slowest reads the limits
    # allow take about a minute (python-docx on 100 MB of XML; trafilatura on a
    # 5 MB page: 20 s; Tesseract on a 50-megapixel page: 11 s).
    stall_seconds: float = 300.0
    batch: int = 8  # files sent to a worker at once: one message per small text file would cost more than reading it


@dataclass(frozen=True)
class Failed:
    """An item that could not be done: why (Dutch, shown as it is), and a traceback for the log when the cause may be a bug."""

    reason: str
    details: str = ""


def size_nl(n: int) -> str:
    """A size in bytes as Dutch readers write it: "1,5 GB", "200 MB", "435 bytes"."""
    for unit, factor in (("GB", GB), ("MB", 1024**2), ("KB", 1024)):
        if n >= factor:
            value = n / factor
            return (f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}").replace(".", ",") + f" {unit}"
    return f"{n} bytes"


# ---------------------------------------------------------------- the worker


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _limit_memory(extra: int) -> None:
    """Cap this process's address space at its present size plus ``extra`` (Linux)."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _address_space() + extra
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass  # no such limit on this system: the worker still keeps a crash from the parent


# A spare worker waits this long for more work, then ends (the parent lets
# spares go a little sooner, so it never hands work to one that is ending).
IDLE_SECONDS = 120.0
# A worker that has grown past this (a large file read) ends after its batch,
# so that no spare worker holds on to memory.
_KEEP_RSS = 256 * 1024**2


def _resident() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _serve(conn, memory_bytes: int) -> None:
    """A worker's life: limit its memory, then do the batches the parent sends until told to stop."""
    _limit_memory(memory_bytes)
    while True:
        try:
            if not conn.poll(IDLE_SECONDS):
                return
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if message is None:
            return
        fn, batch, environment = message
        if environment != os.environ:  # the parent's, as it is now: a spare serves a parent whose settings changed
            os.environ.clear()
            os.environ.update(environment)
        for position, item in batch:
            out_of_memory = False
            try:
                result = fn(item, lambda *args, _p=position: conn.send(("progress", _p, args)))
            except MemoryError:
                result, out_of_memory = Failed(f"te groot om te lezen: meer dan {size_nl(memory_bytes)} geheugen nodig"), True
            except BaseException:  # noqa: BLE001 - a task's own bug: this item only
                result = Failed("kon niet gelezen worden (fout in Vraagbaak)", traceback.format_exc())
            try:
                conn.send(("done", position, result))
            except MemoryError:
                conn.send(("done", position, Failed(f"te groot om te lezen: meer dan {size_nl(memory_bytes)} geheugen nodig")))
                out_of_memory = True
            if out_of_memory:  # a heap that ran out may be left in pieces, a C library in a bad state: a fresh worker goes on
                conn.send(("retire", None, None))
                return
        try:
            grown = _resident() > _KEEP_RSS
        except OSError:
            grown = False
        conn.send(("retire" if grown else "idle", None, None))
        if grown:
            return


# ---------------------------------------------------------------- the pool


# The worker is started as a program of its own, not by multiprocessing's
# "spawn", which first runs the parent's main script again: a user's script
# without an ``if __name__ == "__main__"`` guard would then build again in
# every worker. It is given the parent's import path, so whatever the parent
# can import (its modules, a test's) the worker finds the same way.
_BOOT = "import sys; sys.path[:] = sys.argv[3:]; from vraagbaak.isolation import _serve_fd; _serve_fd(int(sys.argv[1]), int(sys.argv[2]))"


def _serve_fd(fd: int, memory_bytes: int) -> None:
    from multiprocessing.connection import Connection

    _serve(Connection(fd), memory_bytes)


def _stderr():
    """Where a worker's standard output goes: this process's standard error, so that a
    library's chatter never mixes into a command's output (``build --json``)."""
    try:
        return sys.__stderr__.fileno()
    except (AttributeError, OSError, ValueError):  # no standard error (a windowless program)
        return subprocess.DEVNULL


class _Worker:
    def __init__(self, memory_bytes: int):
        self.conn, child = multiprocessing.Pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(child.fileno()), str(memory_bytes), *sys.path],
            pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, stdout=_stderr(),
        )
        child.close()  # only the worker holds its end: its death closes the pipe, which wakes the parent
        self.batch: collections.deque = collections.deque()  # (position, item, alone) sent and not yet done, in order
        self.finished_any = False  # a fresh worker has finished nothing yet
        self.heard = time.monotonic()
        self.stalled = False  # stopped by the parent: silent too long
        self.retired = False  # ended itself after running out of memory
        self.ended = False  # its pipe closed
        self.idle_since = 0.0  # when it became a spare

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, fn, batch: list) -> None:
        self.batch.extend(batch)
        self.heard = time.monotonic()
        self.conn.send((fn, [(position, item) for position, item, _ in batch], dict(os.environ)))

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
        self.conn.close()


# Spare workers, kept when a pool closes for the next pool to take (a build's
# workers for the upload that follows, one test's for the next): starting one
# costs 0.2-0.3 s. A spare is only taken by a pool of the same memory ceiling
# and import path (modules once imported stay); the environment is sent with
# every batch, so a changed one reaches it.
_spares: dict[tuple, list[_Worker]] = {}
_spares_lock = threading.Lock()


def _spare_key(memory_bytes: int) -> tuple:
    return memory_bytes, tuple(sys.path)


class Workers:
    """Up to ``n`` reading processes, started when first needed; ``close`` keeps them as spares.

    ``run(fn, items)`` calls ``fn(item, progress)`` in the workers: ``fn`` must
    be a module-level function (or a ``functools.partial`` of one) and the
    items and results must pickle; ``progress(*args)`` in the worker reaches
    ``on_progress(position, *args)`` here. One thread uses a pool at a time.
    """

    def __init__(self, n: int = 1, settings: IsolationSettings = IsolationSettings()):
        self.n = max(1, n)
        self.settings = settings
        self._idle: list[_Worker] = []
        self._busy: list[_Worker] = []

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Keep the idle workers as spares (one per core at most, all pools together), stop any other."""
        for worker in self._busy:  # a run left unfinished (its caller raised): its work is abandoned
            worker.kill()
            worker.conn.close()
        now = time.monotonic()
        for worker in self._idle:
            worker.idle_since = now
        key = _spare_key(self.settings.memory_bytes)
        with _spares_lock:
            _spares[key] = _spares.get(key, []) + self._idle
            kept = sorted(((w.idle_since, k, w) for k, ws in _spares.items() for w in ws if w.alive and now - w.idle_since < IDLE_SECONDS - 20),
                          key=lambda entry: entry[0], reverse=True)[: os.cpu_count() or 1]
            for workers in _spares.values():
                for worker in workers:
                    if not any(worker is w for _, _, w in kept):
                        worker.stop()  # ended, about to end, or one too many: reaped here
            _spares.clear()
            for _, k, worker in kept:
                _spares.setdefault(k, []).append(worker)
        self._idle, self._busy = [], []

    def map(self, fn: Callable, items: Iterable, on_progress: Callable[..., None] | None = None, batch: int | None = None) -> list:
        """``fn`` over ``items``, the results in input order (a ``Failed`` for each item that could not be done)."""
        items = list(items)
        out: list[Any] = [None] * len(items)
        for position, result in self.run(fn, items, on_progress, batch):
            out[position] = result
        return out

    def run(self, fn: Callable, items: Iterable, on_progress: Callable[..., None] | None = None,
            batch: int | None = None, skip: Callable[[Any], bool] | None = None) -> Iterator[tuple[int, Any]]:
        """(position, result) of each item as it is done: ``fn``'s result, or a ``Failed``.

        ``batch``: items sent to a worker at once (default ``IsolationSettings.batch``;
        1 for long tasks such as OCR pages, so that no worker waits while another
        holds several). No more workers are started than there are batches.
        ``skip(item)``, asked when an item's turn comes: True passes it over (its result is None)."""
        queue = collections.deque((position, item, False) for position, item in enumerate(items))
        batch = batch or self.settings.batch
        workers = min(self.n, max(1, -(-len(queue) // batch)))
        while queue or self._busy:
            for position in self._dispatch(fn, queue, workers, batch, skip):
                yield position, None
            if not self._busy:
                continue  # every item left was passed over
            self._wait()
            for worker in list(self._busy):
                yield from self._collect(worker, on_progress)
                if worker.retired:
                    self._retire(worker, queue)
                elif worker in self._busy and (worker.stalled or worker.ended or not worker.alive):
                    yield from self._bury(worker, queue, on_progress)
            self._stop_stalled()

    # -- internals

    def _dispatch(self, fn, queue: collections.deque, workers: int, batch_size: int, skip) -> list[int]:
        """Send batches from the queue to idle workers, starting them as needed; the positions passed over."""
        passed = []
        while queue and len(self._busy) < workers:
            position, item, alone = queue[0]
            if skip is not None and skip(item):
                passed.append(queue.popleft()[0])
                continue
            if alone:  # a retry: alone, in a fresh worker
                batch = [queue.popleft()]
                worker = self._fresh()
            else:
                size = max(1, min(batch_size, len(queue) // workers))
                batch = []
                while queue and len(batch) < size and not queue[0][2]:
                    entry = queue.popleft()
                    if skip is not None and skip(entry[1]):
                        passed.append(entry[0])
                    else:
                        batch.append(entry)
                if not batch:
                    continue
                worker = self._idle.pop() if self._idle else self._spare() or self._fresh()
            try:
                worker.send(fn, batch)
            except OSError:  # it died while idle: nothing of this batch was begun
                queue.extendleft(reversed(batch))
                worker.stop()
                continue
            self._busy.append(worker)
        return passed

    def _fresh(self) -> _Worker:
        return _Worker(self.settings.memory_bytes)

    def _spare(self) -> _Worker | None:
        """A spare worker started like ours (``_spare_key``) and not about to end for idleness, if there is one."""
        with _spares_lock:
            spares = _spares.get(_spare_key(self.settings.memory_bytes), [])
            while spares:
                worker = spares.pop()
                if worker.alive and time.monotonic() - worker.idle_since < IDLE_SECONDS - 20:
                    return worker
                worker.stop()
        return None

    def _wait(self) -> None:
        """Until a worker sends something or ends, or the first one silent too long must be stopped."""
        now = time.monotonic()
        timeout = min(max(0.0, w.heard + self.settings.stall_seconds - now) for w in self._busy)
        wait([w.conn for w in self._busy], timeout=min(timeout, 5.0))  # a death shows as the end of its pipe

    def _collect(self, worker: _Worker, on_progress) -> Iterator[tuple[int, Any]]:
        """What a worker has sent so far: progress, finished items, the end of its batch."""
        while True:
            try:
                if not worker.conn.poll():
                    return
                kind, position, payload = worker.conn.recv()
            except (EOFError, OSError):
                worker.ended = True  # its end of the pipe is closed: it has ended, or is ending
                return
            worker.heard = time.monotonic()
            if kind == "progress":
                if on_progress is not None:
                    on_progress(position, *payload)
            elif kind == "done":
                worker.batch.popleft()
                worker.finished_any = True
                yield position, payload
            elif kind == "retire":
                worker.retired = True
                return
            elif kind == "idle":
                self._busy.remove(worker)
                self._idle.append(worker)
                return

    def _retire(self, worker: _Worker, queue: collections.deque) -> None:
        """A worker that ran out of memory and ended itself after saying so: the items it had not begun go back."""
        self._busy.remove(worker)
        queue.extendleft(reversed(worker.batch))
        worker.stop()

    def _bury(self, worker: _Worker, queue: collections.deque, on_progress) -> Iterator[tuple[int, Any]]:
        """A worker that died or was stopped: the item it was on is retried alone or lost; the rest go back."""
        worker.process.wait()
        yield from self._collect(worker, on_progress)  # what it sent before it died
        if worker.retired:
            self._retire(worker, queue)
            return
        for pool in (self._busy, self._idle):  # it may have finished its batch just before it died
            if worker in pool:
                pool.remove(worker)
        worker.conn.close()
        if not worker.batch:
            return
        position, item, alone = worker.batch.popleft()
        queue.extendleft(reversed(worker.batch))
        if worker.stalled:
            yield position, Failed(f"te traag om te lezen: na {self.settings.stall_seconds:.0f} seconden zonder voortgang gestopt")
        elif alone or not worker.finished_any:
            yield position, Failed(self._death_reason(worker.process.returncode))
        else:
            queue.appendleft((position, item, True))

    def _stop_stalled(self) -> None:
        now = time.monotonic()
        for worker in self._busy:
            if not worker.stalled and now - worker.heard > self.settings.stall_seconds:
                worker.stalled = True
                worker.kill()

    def _death_reason(self, exitcode: int | None) -> str:
        if exitcode is not None and exitcode < 0:
            try:
                name = signal.Signals(-exitcode).name
            except ValueError:
                name = f"signaal {-exitcode}"
            if -exitcode == signal.SIGKILL:
                return f"kon niet gelezen worden: het leesproces werd gestopt ({name}; vaak omdat het geheugen van de computer opraakte)"
            return (f"kon niet gelezen worden: het leesproces brak af ({name}; vaak een bestand dat meer dan "
                    f"{size_nl(self.settings.memory_bytes)} geheugen vraagt)")
        return f"kon niet gelezen worden: het leesproces stopte onverwacht (code {exitcode})"
