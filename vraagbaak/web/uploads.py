"""The upload folder: where uploaded files wait until they are added, and which session may add which.

Gradio's upload route writes each file to ``<folder>/<hash>/<name>`` and
answers with that path; the page then sends the path back with the event
that adds it. That path comes from the client, so it proves nothing: the
server records what its upload route handed out to each session
(``record``), and the adding function takes only such a file (``claim``),
without opening any other path. Every upload is deleted as soon as it is
saved or refused (``discard``); what a crash or an upload never sent along
left behind is removed at the next start (``prepare``).

The folder is Vraagbaak's own: inside the index folder, or in the user's
cache folder for a Milvus store (``stores.Location.upload_folder``), never
Gradio's shared folder in the system's temporary directory.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
from collections.abc import Iterable
from pathlib import Path

__all__ = ["UploadFolder"]


class UploadFolder:
    def __init__(self, folder: str | Path):
        self.folder = Path(os.path.abspath(folder))
        self._lock = threading.Lock()
        self._handed_out: dict[str | None, set[str]] = {}  # session -> upload paths (None: the one session without accounts)

    def prepare(self) -> None:
        """Empty the folder (leftovers of an earlier run) and make it, readable by this user only."""
        if self.folder.is_dir() and not self.folder.is_symlink():
            for entry in self.folder.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)  # uploads are people's case files: not for other users of the machine
        with self._lock:
            self._handed_out.clear()

    def holds(self, path: str) -> bool:
        """Whether ``path`` names a place inside the folder (by its name only: nothing is opened)."""
        return os.path.abspath(path).startswith(str(self.folder) + os.sep)

    def record(self, session: str | None, paths: Iterable[str]) -> None:
        """The upload route handed these paths to ``session`` (a login; None without accounts)."""
        mine = [os.path.abspath(p) for p in paths if isinstance(p, str) and self.holds(p)]
        with self._lock:
            self._handed_out.setdefault(session, set()).update(mine)

    def uploaded_by(self, session: str | None, path) -> bool:
        """Whether ``session`` got ``path`` from the upload route and has not added it yet (nothing is opened)."""
        if not isinstance(path, str):
            return False
        with self._lock:
            return os.path.abspath(path) in self._handed_out.get(session, ())

    def claim(self, session: str | None, path) -> Path | None:
        """The file at ``path`` if ``session`` uploaded it here and has not added it yet, else None.

        Only its name is compared until then: any other path is never opened.
        A claimed file is taken off the session's list (each upload is added
        once); it must still be a regular file, not a link."""
        if not self.uploaded_by(session, path):
            return None
        absolute = os.path.abspath(path)
        with self._lock:
            self._handed_out.get(session, set()).discard(absolute)
        try:
            if not stat.S_ISREG(os.lstat(absolute).st_mode):
                return None
        except OSError:
            return None  # deleted meanwhile (an upload older than the folder's time limit)
        return Path(absolute)

    def discard(self, path: str | Path) -> None:
        """Delete an upload (saved or refused) and the folder Gradio made for it."""
        path = Path(os.path.abspath(path))
        if not self.holds(str(path)):
            return
        path.unlink(missing_ok=True)
        parent = path.parent
        if parent != self.folder and self.holds(str(parent)):
            try:
                parent.rmdir()
            except OSError:
                pass  # another upload with the same content waits there

    def forget(self, session: str | None) -> None:
        """A session ended (logout): delete the uploads it never added."""
        with self._lock:
            paths = self._handed_out.pop(session, set())
        for path in paths:
            self.discard(path)
