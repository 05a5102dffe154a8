"""Accounts for a shared Vraagbaak: names, roles and collections in one file.

The users file is JSON, written atomically and readable by its owner only::

    {"format": 1, "users": {"anna": {"password_hash": "$argon2id$...", "role": "redacteur", "collections": null},
                            "bas": {"password_hash": "$argon2id$...", "role": "lezer", "collections": ["wijkteam-noord"]}}}

Passwords are kept only as Argon2id hashes (argon2-cffi's ``PasswordHasher``:
a random salt per password, memory-hard, its parameters in the hash). A
``lezer`` searches and opens sources; a ``redacteur`` also adds texts and
updates the index. ``collections``: the corpus subfolders a user may see (null:
all). Repeated wrong passwords are slowed down per name and per client address (``Logins``).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from . import messages
from .errors import VraagbaakError
from .filters import folder_of

__all__ = ["ROLES", "Account", "Accounts", "LoginResult", "LoginThrottle", "Logins", "may_read_judgments", "may_update"]

ROLES = ("lezer", "redacteur")


@functools.cache
def _hasher():
    """argon2-cffi's ``PasswordHasher`` with its defaults (RFC 9106 low-memory profile): about 50 ms a check.
    Made on first use: the page and the command line start without argon2 unless they use accounts."""
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash checked for an unknown name, so that a wrong name costs what a wrong password costs (hashed once, ~50 ms)."""
    return _hasher().hash("no such user: this hash only makes a wrong name cost what a wrong password costs")
_FORMAT = 1


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    collections: tuple[str, ...] | None  # None: every collection

    def may_see(self, source: str) -> bool:
        """Whether this user may see a document: it lies in one of their collections (or they have all)."""
        if self.collections is None:
            return True
        folder = folder_of(source)
        return any(folder == c or folder.startswith(c + "/") for c in self.collections)

    def visible(self, sources: Iterable[str]) -> frozenset[str] | None:
        """The sources this user may see (None: all of them, no narrowing needed)."""
        return None if self.collections is None else frozenset(s for s in sources if self.may_see(s))


def may_update(account: Account | None) -> bool:
    """Adding texts and updating the index: a redacteur (or anyone, without accounts)."""
    return account is None or account.role == "redacteur"


def may_read_judgments(account: Account | None) -> bool:
    """Reading the judgments of hits (the quality panel): a redacteur (or anyone, without accounts), and then
    only those about documents in their collections (``Account.may_see``). A lezer judges but never reads them."""
    return account is None or account.role == "redacteur"


class Accounts:
    """The users file: read on demand (a change by ``users add`` counts at once), written atomically."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cache: tuple[float, dict] | None = None
        _dummy_hash()  # made now, not in the first check of an unknown name (which would then take longer)

    # ------------------------------------------------------------ reading

    def _users(self) -> dict:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        with self._lock:
            if self._cache is None or self._cache[0] != mtime:
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise VraagbaakError(messages.users_file_unreadable(self.path, exc)) from exc
                self._cache = (mtime, data.get("users", {}))
            return self._cache[1]

    def get(self, name: str | None) -> Account | None:
        entry = self._users().get(name or "")
        if entry is None:
            return None
        collections = entry.get("collections")
        return Account(name, entry["role"], None if collections is None else tuple(collections))

    def names(self) -> list[str]:
        return sorted(self._users())

    def check(self, name: str, password: str) -> Account | None:
        """The account if ``password`` is right for ``name``, else None (the same work either way)."""
        entry = self._users().get(name)
        from argon2.exceptions import InvalidHashError, VerificationError

        stored = entry["password_hash"] if entry else _dummy_hash()  # an unknown name costs a check too: no timing hint
        try:
            _hasher().verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return self.get(name) if entry else None

    # ------------------------------------------------------------ writing

    def add(self, name: str, password: str, role: str, collections: Iterable[str] | None = None) -> None:
        _check_name(name)
        if role not in ROLES:
            raise VraagbaakError(messages.unknown_role(role, ROLES))
        _check_password(password)
        users = dict(self._users())
        if name in users:
            raise VraagbaakError(messages.user_exists(name))
        folders = None if collections is None else sorted({c.strip().strip("/") for c in collections if c.strip()})
        users[name] = {"password_hash": _hasher().hash(password), "role": role, "collections": folders}
        self._write(users)

    def remove(self, name: str) -> None:
        users = dict(self._users())
        if users.pop(name, None) is None:
            raise VraagbaakError(messages.no_user(name, self.path))
        self._write(users)

    def set_password(self, name: str, password: str) -> None:
        users = dict(self._users())
        if name not in users:
            raise VraagbaakError(messages.no_user(name, self.path))
        _check_password(password)
        users[name] = dict(users[name], password_hash=_hasher().hash(password))
        self._write(users)

    def _write(self, users: dict) -> None:
        """Atomically, and readable by its owner only (the hashes are still worth guessing at)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"format": _FORMAT, "users": users}, ensure_ascii=False, indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        with self._lock:
            self._cache = None


def _check_name(name: str) -> None:
    if not name or not name.strip() or name != name.strip() or any(ch in name for ch in ":/\\\n\t"):
        raise VraagbaakError(messages.bad_user_name(name))


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise VraagbaakError(messages.PASSWORD_TOO_SHORT)


class LoginThrottle:
    """Slows down guessing under one key (a name, or a client address): after
    ``free`` failed attempts, each next attempt under that key is refused unheard
    until a wait has passed, doubling from ``first_wait`` seconds up to
    ``max_wait``. A right password resets a name (``succeeded``); a key with no
    failure for ``forget_after`` seconds starts afresh. At most ``keys`` keys
    are kept (the oldest go first), so made-up names cannot fill the memory.
    Nothing sleeps: the server stays free for everyone else."""

    def __init__(self, free: int = 3, first_wait: float = 2.0, max_wait: float = 300.0, forget_after: float = 900.0,
                 keys: int = 10_000, clock=time.monotonic):
        self.free, self.first_wait, self.max_wait, self.clock = free, first_wait, max_wait, clock
        self.forget_after, self.keys = forget_after, keys
        self._failures: dict[str, tuple[int, float, float]] = {}  # key -> (failures in a row, refused until, last failure)
        self._lock = threading.Lock()

    def wait_left(self, key: str) -> float:
        with self._lock:
            _, until, _ = self._failures.get(key, (0, 0.0, 0.0))
        return max(0.0, until - self.clock())

    def failed(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            count, _, last = self._failures.pop(key, (0, 0.0, 0.0))  # popped: re-inserted as the newest
            count = 1 if now - last > self.forget_after else count + 1
            wait = 0.0 if count <= self.free else min(self.max_wait, self.first_wait * 2 ** (count - self.free - 1))
            self._failures[key] = (count, now + wait, now)
            while len(self._failures) > self.keys:
                del self._failures[next(iter(self._failures))]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class LoginResult(NamedTuple):
    """What ``Logins.check`` decided: the account (None: refused); ``wait`` > 0: refused
    unheard, try again after that many seconds; ``busy``: too many checks at once."""

    account: Account | None
    wait: float = 0.0
    busy: bool = False


class Logins:
    """How a login is checked, so that guessing and floods stop nobody else.

    - The Argon2 check (about 50 ms of CPU and 64 MiB each) runs in a pool of
      ``threads`` threads, never on the server's event loop; at most ``queue``
      more wait for it, and at most ``per_address`` checks run or wait for one
      client address. An attempt beyond these is refused unheard ("busy"): a
      flood from one address takes two places, not the whole pool.
    - Failed attempts are counted per name (``by_name``: after 3, a wait of
      2 s doubling to 5 minutes) and per client address (``by_address``: after
      10, the same waits); while either waits, an attempt is refused unheard,
      with the time left. So guessing one name from many addresses and many
      names from one address both slow down. A right password resets its name,
      not its address. Behind a reverse proxy the address is the client's
      only when the server trusts that proxy (``app.py --proxy``); otherwise
      every request would share the proxy's address and one guesser would
      make everyone wait.
    """

    def __init__(self, accounts: Accounts, *, threads: int = 2, queue: int = 8, per_address: int = 2,
                 by_name: LoginThrottle | None = None, by_address: LoginThrottle | None = None):
        from concurrent.futures import ThreadPoolExecutor

        self.accounts = accounts
        self.by_name = by_name or LoginThrottle(free=3)
        self.by_address = by_address or LoginThrottle(free=10)
        self.capacity, self.per_address = threads + queue, per_address
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vraagbaak-login")
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}  # address -> checks running or waiting

    def wait_left(self, name: str, address: str) -> float:
        return max(self.by_name.wait_left(name), self.by_address.wait_left(address))

    async def check(self, name: str, password: str, address: str) -> LoginResult:
        """Check ``password`` for ``name`` from ``address``, off the calling event loop."""
        import asyncio

        wait = self.wait_left(name, address)
        if wait > 0:
            return LoginResult(None, wait=wait)
        if not self._enter(address):
            return LoginResult(None, busy=True)
        try:
            account = await asyncio.wrap_future(self._pool.submit(self.accounts.check, name, password))
        finally:
            self._leave(address)
        if account is None:
            self.by_name.failed(name)
            self.by_address.failed(address)
            return LoginResult(None)
        self.by_name.succeeded(name)
        return LoginResult(account)

    def _enter(self, address: str) -> bool:
        with self._lock:
            if sum(self._running.values()) >= self.capacity or self._running.get(address, 0) >= self.per_address:
                return False
            self._running[address] = self._running.get(address, 0) + 1
            return True

    def _leave(self, address: str) -> None:
        with self._lock:
            left = self._running.pop(address) - 1
            if left:
                self._running[address] = left
