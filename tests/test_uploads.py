"""The upload folder: which session may add which upload, and nothing else is opened or left behind."""

import os
import stat

from vraagbaak.web.uploads import UploadFolder


def gradio_upload(folder: UploadFolder, name: str, data: bytes, digest: str = "abc") -> str:
    """A file where Gradio's upload route puts it: ``<folder>/<hash>/<name>``."""
    path = folder.folder / digest / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def test_a_start_empties_the_folder_and_keeps_it_private(tmp_path):
    folder = UploadFolder(tmp_path / "uploads")
    folder.folder.mkdir()
    gradio_upload(folder, "achtergelaten.txt", b"van een crash")
    (folder.folder / "tmp123").write_bytes(b"")
    folder.prepare()
    assert list(folder.folder.iterdir()) == []
    assert stat.S_IMODE(os.stat(folder.folder).st_mode) == 0o700


def test_only_what_the_session_uploaded_is_handed_out_once(tmp_path):
    folder = UploadFolder(tmp_path / "uploads")
    folder.prepare()
    mine = gradio_upload(folder, "notitie.txt", b"tekst")
    folder.record("anna-1", [mine, "/etc/passwd", str(folder.folder / ".." / "elders.txt")])  # only its own folder is recorded
    assert folder.claim("bas-1", mine) is None  # another session
    assert folder.claim("anna-1", "/etc/passwd") is None and folder.claim("anna-1", "/dev/zero") is None
    assert folder.claim("anna-1", str(folder.folder / "abc" / ".." / "abc" / "notitie.txt")) == folder.folder / "abc" / "notitie.txt"
    assert folder.claim("anna-1", mine) is None  # added once
    assert folder.claim("anna-1", {"path": mine}) is None  # not a path at all


def test_a_link_in_the_folder_is_not_followed(tmp_path):
    folder = UploadFolder(tmp_path / "uploads")
    folder.prepare()
    link = folder.folder / "abc" / "passwd.txt"
    link.parent.mkdir()
    link.symlink_to("/etc/passwd")
    folder.record(None, [str(link)])
    assert folder.claim(None, str(link)) is None


def test_a_used_upload_goes_with_its_folder_and_a_logout_takes_the_rest(tmp_path):
    folder = UploadFolder(tmp_path / "uploads")
    folder.prepare()
    used = gradio_upload(folder, "a.txt", b"a", "h1")
    unsent = gradio_upload(folder, "b.txt", b"b", "h2")
    folder.record("s", [used, unsent])
    folder.discard(folder.claim("s", used))
    assert sorted(p.name for p in folder.folder.iterdir()) == ["h2"]
    folder.discard("/etc/passwd")  # outside: never touched
    assert os.path.exists("/etc/passwd")
    folder.forget("s")
    assert list(folder.folder.iterdir()) == []
