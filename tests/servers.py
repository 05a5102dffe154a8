"""Running the web app in a process of its own, and driving it over plain HTTP, as a browser or an attacker would."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(work: Path, script: str, *args, log_name: str = "app.log", cwd: Path = ROOT):
    """``python SCRIPT ARGS --port P`` (in ``cwd``) started, waited for (its first build) and stopped after; yields its URL.

    Stopped with SIGTERM, then SIGKILL if it does not end: a server an attack
    froze must not stall the suite."""
    port = free_port()
    log_path = work / log_name
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, script, *map(str, args), "--port", str(port)], cwd=cwd, stdout=log,
                            stderr=subprocess.STDOUT, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{script} exited: " + log_path.read_text()[-2000:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"{script} did not start")
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        log.close()


def add_users(users: Path, accounts: dict) -> None:
    """``accounts``: name -> (password, role, collections or None), through the CLI as an administrator adds them."""
    for name, (password, role, collections) in accounts.items():
        extra = ["--collections", collections] if collections else []
        subprocess.run([sys.executable, "-m", "vraagbaak", "users", "add", name, "--role", role, *extra, "--users", str(users)],
                       input=password + "\n", text=True, check=True, cwd=ROOT, capture_output=True)


def client(url: str, address: str | None = None, timeout: float = 60) -> httpx.Client:
    """An HTTP client; ``address``: the client address a trusted proxy would name (X-Forwarded-For)."""
    headers = {"X-Forwarded-For": address} if address else {}
    return httpx.Client(base_url=url, timeout=timeout, headers=headers)


def log_in(url: str, name: str, password: str, address: str | None = None) -> httpx.Client:
    session = client(url, address)
    response = session.post("login", data={"username": name, "password": password})
    assert response.status_code == 200, response.text
    return session


def event_index(session: httpx.Client, elem_id: str) -> tuple[int, int]:
    """(fn_index, trigger id) of the click event of the button with ``elem_id``, from the page's config."""
    config = session.get("config").json()
    button = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    fn = next(d["id"] for d in config["dependencies"] if [button, "click"] in d["targets"])
    return fn, button


def join(session: httpx.Client, elem_id: str, data: list, session_hash: str | None = None) -> tuple[httpx.Response, str]:
    """Send a page event as the browser does (``/gradio_api/queue/join``): (the response, the session hash)."""
    fn, trigger = event_index(session, elem_id)
    session_hash = session_hash or uuid.uuid4().hex[:11]
    body = {"data": data, "fn_index": fn, "trigger_id": trigger, "session_hash": session_hash, "event_data": None}
    return session.post("gradio_api/queue/join", json=body), session_hash


def outcome(session: httpx.Client, session_hash: str) -> dict:
    """The last message of the event(s) of ``session_hash`` (``process_completed``), read from the event stream."""
    with session.stream("GET", f"gradio_api/queue/data?session_hash={session_hash}") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the event stream ended without a result")


def file_data(path: str, name: str | None = None) -> dict:
    """A client's description of a file (Gradio's FileData), pointing where the client likes."""
    return {"path": path, "orig_name": name or Path(path).name, "meta": {"_type": "gradio.FileData"}}


def upload(session: httpx.Client, name: str, data: bytes) -> httpx.Response:
    return session.post("gradio_api/upload", files={"files": (name, data, "application/octet-stream")})
