"""Accounts for a shared Vraagbaak: names, roles and collections in one file.

The users file is JSON, written atomically and readable by its owner only::

    {"format": 1, "users": {"anna": {"password_hash": "$argon2id$...", "role": "redacteur", "collections": null},
                            "bas": {"password_hash": "$argon2id$...", "role": "lezer", "collections": ["wijkteam-noord"]}}}

Passwords are kept only as Argon2id hashes (argon2-cffi's ``PasswordHasher``:
a random salt per password, memory-hard, its parameters in the hash). A
``lezer`` searches and opens sources; a ``redacteur`` also adds texts and
updates the index. ``collections``: the corpus subfolders a user may see (null:
all). Repeated wrong passwords for a name are slowed down (``LoginThrottle``).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import VraagbaakError
from .filters import folder_of

__all__ = ["ROLES", "Account", "Accounts", "LoginThrottle", "may_update"]

ROLES = ("lezer", "redacteur")
_HASHER = PasswordHasher()  # argon2-cffi's defaults (RFC 9106 low-memory profile): about 50 ms a check
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


class Accounts:
    """The users file: read on demand (a change by ``users add`` counts at once), written atomically."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cache: tuple[float, dict] | None = None

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
                    raise VraagbaakError(f"the users file {self.path} cannot be read: {exc}") from exc
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
        stored = entry["password_hash"] if entry else _DUMMY_HASH  # an unknown name costs a check too: no timing hint
        try:
            _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return self.get(name) if entry else None

    # ------------------------------------------------------------ writing

    def add(self, name: str, password: str, role: str, collections: Iterable[str] | None = None) -> None:
        _check_name(name)
        if role not in ROLES:
            raise VraagbaakError(f"unknown role {role!r}; choose {' or '.join(ROLES)}")
        _check_password(password)
        users = dict(self._users())
        if name in users:
            raise VraagbaakError(f"user {name!r} exists already; change the password with: users passwd {name}")
        folders = None if collections is None else sorted({c.strip().strip("/") for c in collections if c.strip()})
        users[name] = {"password_hash": _HASHER.hash(password), "role": role, "collections": folders}
        self._write(users)

    def remove(self, name: str) -> None:
        users = dict(self._users())
        if users.pop(name, None) is None:
            raise VraagbaakError(f"no user {name!r} in {self.path}")
        self._write(users)

    def set_password(self, name: str, password: str) -> None:
        users = dict(self._users())
        if name not in users:
            raise VraagbaakError(f"no user {name!r} in {self.path}")
        _check_password(password)
        users[name] = dict(users[name], password_hash=_HASHER.hash(password))
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


_DUMMY_HASH = _HASHER.hash("no such user: this hash only makes a wrong name cost what a wrong password costs")


def _check_name(name: str) -> None:
    if not name or not name.strip() or name != name.strip() or any(ch in name for ch in ":/\\\n\t"):
        raise VraagbaakError(f"a user name is a word without spaces at its ends, ':' or slashes, not {name!r}")


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise VraagbaakError("a password has at least 8 characters")


class LoginThrottle:
    """Slows down guessing: after ``free`` wrong passwords for a name, each next
    attempt for that name is refused unheard until a wait has passed, doubling
    from ``first_wait`` seconds up to ``max_wait``. A right password resets it.
    Nothing sleeps: the server stays free for everyone else."""

    def __init__(self, free: int = 3, first_wait: float = 2.0, max_wait: float = 300.0, clock=time.monotonic):
        self.free, self.first_wait, self.max_wait, self.clock = free, first_wait, max_wait, clock
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (wrong passwords in a row, refused until)
        self._lock = threading.Lock()

    def wait_left(self, name: str) -> float:
        with self._lock:
            _, until = self._failures.get(name, (0, 0.0))
        return max(0.0, until - self.clock())

    def failed(self, name: str) -> None:
        with self._lock:
            count, _ = self._failures.get(name, (0, 0.0))
            count += 1
            wait = 0.0 if count <= self.free else min(self.max_wait, self.first_wait * 2 ** (count - self.free - 1))
            self._failures[name] = (count, self.clock() + wait)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)
