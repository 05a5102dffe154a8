"""The web server: FastAPI around the Gradio page, with sessions, the login and the access guard.

``make_app`` builds everything in the order Gradio needs (the upload folder
before the page, the page before the mount) and returns the ASGI app that
``app.py`` serves. What it decides, and where:

- *Sessions* (``Sessions``): our own cookie, ``HttpOnly``, ``SameSite=Lax``,
  ``Secure`` when the request came over HTTPS; a session ends after
  ``session_seconds`` or at logout (a POST). Gradio learns the user through
  its public ``auth_dependency`` hook, so its own routes refuse whoever is not
  logged in.
- *Login* (``/login``): checked by ``accounts.Logins``, off the event loop and
  throttled per name and per client address; a refused attempt is told why in
  Dutch (a wrong password, or the time to wait); a login posted from another
  site's page is refused (login CSRF).
- *The guard* (``Guard``): every request of someone not logged in gets the
  login page or 401; an upload needs a redacteur, and what the upload route
  hands out is recorded per session (``web.uploads``); an event that names a
  file is refused unless the file is one of this session's uploads, before
  Gradio opens or hashes anything (and refused for anyone who may not add);
  shared page states (``deep_link``) are refused; a Gradio session hash serves
  only the user who used it first (``SessionHashes``: its result stream,
  heartbeat and cancelling); Gradio's file route serves nothing of the upload folder.
- *One origin*: no cross-origin access (a ``CORSMiddleware`` that allows no
  origin, which also turns Gradio's own off), and no run history kept in the browser.
- *Behind a reverse proxy*: ``proxies`` names the proxy addresses whose
  ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed (uvicorn's
  ``ProxyHeadersMiddleware``); from any other address they are ignored.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import gradio as gr
from fastapi import FastAPI, Request  # at module level: FastAPI resolves the routes' annotations here
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection

from .. import messages
from ..accounts import Accounts, Logins, may_update
from ..feedback import Feedback
from ..live import LiveIndex
from ..readers import FORMATS
from ..sources import SOURCE_ROUTE, disposition, media_type, resolve_source
from ..stores import locate
from .page import build_page
from .uploads import UploadFolder

__all__ = ["FRAMEWORK_UPLOAD_LIMIT", "SESSION_COOKIE", "SESSION_SECONDS", "Guard", "Sessions", "make_app"]

# Gradio's own upload limit sits well above ours (upload_limit: 5 MB for text,
# 50 MB for documents), so that a file over our limit gets our Dutch message,
# not Gradio's English toast; it only bounds what reaches the server's disk.
FRAMEWORK_UPLOAD_LIMIT = 4 * max(fmt.upload_limit for fmt in FORMATS)
SESSION_SECONDS = 8 * 3600  # a working day: log in in the morning, not again at lunch
SESSION_COOKIE = "vraagbaak-sessie"
MAX_EVENT_BODY = 64 * 1024 * 1024  # an event's JSON (a pasted text is at most 5 MB): the guard reads no more
LOGIN_MESSAGE = "Log in met je Vraagbaak-account (vraag het de beheerder als je er geen hebt)."


class Sessions:
    """Login sessions: a random token in a cookie -> (user, when it was issued); each ends after ``seconds``."""

    def __init__(self, seconds: float = SESSION_SECONDS, clock=time.monotonic):
        self.seconds, self.clock = seconds, clock
        self._lock = threading.Lock()
        self._issued: dict[str, tuple[str, float]] = {}

    def start(self, user: str) -> str:
        now = self.clock()
        token = secrets.token_urlsafe(32)
        with self._lock:
            for old in [t for t, (_, at) in self._issued.items() if now - at > self.seconds]:
                del self._issued[old]  # sessions nobody came back to
            self._issued[token] = (user, now)
        return token

    @staticmethod
    def token(request) -> str | None:
        """The session token a request carries (a Starlette or a Gradio request)."""
        return request.cookies.get(SESSION_COOKIE) or None

    def user(self, request) -> str | None:
        """The logged-in user of ``request``; an expired session ends here. (Gradio's ``auth_dependency``.)"""
        token = self.token(request)
        if token is None:
            return None
        with self._lock:
            user, issued = self._issued.get(token, (None, 0.0))
            if user is not None and self.clock() - issued > self.seconds:
                del self._issued[token]
                return None
        return user

    def end(self, token: str | None) -> None:
        with self._lock:
            self._issued.pop(token or "", None)


class SessionHashes:
    """Which user each Gradio session hash belongs to: the one who used it first.

    Gradio keys an event's result stream (``queue/data?session_hash=…``), its
    heartbeat and its cancelling by a hash the browser makes up, and hands the
    stream to whoever names the hash. Bound here at first use, a hash serves its
    user only. At most ``limit`` hashes are kept, the least recently used
    forgotten first (a forgotten hash is bound anew at its next use)."""

    def __init__(self, limit: int = 100_000):
        self.limit = limit
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, session_hash: str, user: str) -> bool:
        """Whether ``user`` may use ``session_hash`` (it is theirs, or nobody's yet: then it becomes theirs)."""
        with self._lock:
            owner = self._owners.setdefault(session_hash, user)
            self._owners.move_to_end(session_hash)
            while len(self._owners) > self.limit:
                self._owners.popitem(last=False)
        return owner == user


def make_app(live: LiveIndex, *, accounts: Accounts | None = None, proxies: Iterable[str] = (),
             session_seconds: float = SESSION_SECONDS, logins: Logins | None = None, feedback: Feedback | None = None,
             **gradio_options) -> FastAPI:
    """The web app: the page at "/", each indexed source file at ``bron/<source>``, and with
    ``accounts`` the login at ``/login`` and ``/logout``; with ``feedback`` (``app.py --feedback``)
    the judgment buttons, ``/feedback`` and the quality panel. ``gradio_options`` go to
    ``gr.mount_gradio_app`` (theme, css, ...). See the module's docstring."""
    uploads = UploadFolder(locate(live.index_dir).upload_folder)
    uploads.prepare()
    # Gradio reads its upload folder from GRADIO_TEMP_DIR (its documented setting) in three places: each
    # component when it is made, the upload route when the app is mounted, and its check of an event's
    # input paths. So it is set before the page is built, for the whole process.
    os.environ["GRADIO_TEMP_DIR"] = str(uploads.folder)
    sessions = Sessions(session_seconds) if accounts is not None else None
    page = build_page(live, accounts, uploads, session_of=sessions.token if sessions else (lambda request: None), feedback=feedback)
    page.queue(default_concurrency_limit=None)

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.get(f"/{SOURCE_ROUTE}/{{requested:path}}")(_source_route(live, accounts, sessions))
    if accounts is not None:
        _login_routes(app, sessions, accounts, logins or Logins(accounts), uploads, proxies)
    app.add_middleware(Guard, accounts=accounts, sessions=sessions, uploads=uploads)
    # One origin: a CORSMiddleware that allows no other. Gradio adds its own CORS middleware only when the
    # parent app has none, and that one trusts any origin once the Host is not localhost (behind a proxy).
    app.add_middleware(CORSMiddleware, allow_origins=[])
    if proxies:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(proxies))  # the outermost: every other sees the client
    blocked = [str(Path(live.corpus_dir).resolve())]
    if accounts is not None:
        blocked.append(str(accounts.path.resolve()))
    if feedback is not None:  # its folder (--feedback PATH), or in the index folder the judgments file itself
        folder = feedback.path.parent.resolve()
        holds_uploads = uploads.folder.resolve().is_relative_to(folder)
        blocked += [f"{feedback.path.resolve()}{end}" for end in ("", "-wal", "-shm")] if holds_uploads else [str(folder)]
    # (The index folder is not listed: it holds the upload folder, which Gradio must reach; its file route
    # serves nothing outside its upload folder anyway.)
    mounted = gr.mount_gradio_app(app, page, path="", auth_dependency=sessions.user if sessions else None,
                                  blocked_paths=blocked, max_file_size=FRAMEWORK_UPLOAD_LIMIT, show_error=True,
                                  run_history=False, **gradio_options)
    # Gradio checks that an event's input files lie in its upload folder only once it believes it was
    # launched (processing_utils._check_allowed); mount_gradio_app never sets that, launch() does. The
    # guard refuses such paths first; this makes Gradio's own check apply too.
    page.has_launched = True
    return mounted


def _source_route(live: LiveIndex, accounts: Accounts | None, sessions: Sessions | None):
    def open_source(requested: str, request: Request):
        account = accounts.get(sessions.user(request)) if accounts is not None else None
        if accounts is not None and account is None:
            return PlainTextResponse(messages.LOG_IN_FIRST, status_code=401)
        view = live.view(account)
        path = resolve_source(live.corpus_dir, requested, view.documents)
        if path is None:
            return PlainTextResponse(messages.SOURCE_NOT_OPENABLE, status_code=404)
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
        if path.suffix.lower() in (".html", ".htm"):
            headers["Content-Security-Policy"] = "sandbox"  # a stored page's scripts never run in our origin
        return FileResponse(path, media_type=media_type(path), headers=headers, filename=path.name,
                            content_disposition_type=disposition(path))

    return open_source


# ------------------------------------------------------------------ login


def _wait_words(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 120:
        return f"{seconds} seconden"
    return f"{round(seconds / 60)} minuten"


def _same_origin(request: Request, trust_forwarded_host: bool) -> bool:
    """Whether a login comes from this server's own page (login CSRF: another site must not log a visitor in
    under its account). A browser names the page a POST comes from (``Origin``, and ``Sec-Fetch-Site``);
    a request without them is no browser's, so not a forged one. Compared by host and port: behind a proxy
    that ends HTTPS, the scheme we see is not the browser's. A proxy that rewrites ``Host`` passes the
    browser's in ``X-Forwarded-Host``, believed from a trusted proxy (``--proxy``) only."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False  # "null": a sandboxed frame, a file
    default = {"http": 80, "https": 443}[parts.scheme]
    def netloc(host: str, port) -> str:
        return f"{host.lower()}:{port or default}"
    wanted = netloc(parts.hostname, parts.port)
    hosts = [request.headers.get("host", "")]
    if trust_forwarded_host and request.headers.get("x-forwarded-host"):
        hosts.append(request.headers["x-forwarded-host"].split(",")[0].strip())
    for host in hosts:
        seen = urlsplit(f"//{host}")
        if seen.hostname and netloc(seen.hostname, seen.port) == wanted:
            return True
    return False


def _login_routes(app: FastAPI, sessions: Sessions, accounts: Accounts, logins: Logins, uploads: UploadFolder,
                  proxies: Iterable[str] = ()) -> None:
    """``POST /login`` (a form: username, password; what gradio_client and the login page send; refused from
    another site's page), ``POST /logout``; both before Gradio's own routes of those names, which they replace."""

    async def login(request: Request):
        if not _same_origin(request, trust_forwarded_host=bool(proxies)):
            return JSONResponse({"detail": messages.LOGIN_FROM_ELSEWHERE}, status_code=403)
        form = await request.form()
        name, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
        address = request.client.host if request.client else ""
        result = await logins.check(name, password, address)
        if result.wait > 0:
            wait = _wait_words(result.wait)
            return JSONResponse({"detail": messages.too_many_attempts(wait)},
                                status_code=429, headers={"Retry-After": str(max(1, round(result.wait)))})
        if result.busy:
            return JSONResponse({"detail": messages.LOGINS_BUSY},
                                status_code=429, headers={"Retry-After": "2"})
        if result.account is None:
            return JSONResponse({"detail": messages.LOGIN_WRONG}, status_code=400)
        response = JSONResponse({"success": True})
        response.set_cookie(SESSION_COOKIE, sessions.start(result.account.name), max_age=int(sessions.seconds), path="/",
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response

    def logout(request: Request):
        token = sessions.token(request)
        sessions.end(token)
        uploads.forget(token)
        response = RedirectResponse("./", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response

    def logout_by_get():
        return PlainTextResponse(messages.LOGOUT_BY_BUTTON, status_code=405, headers={"Allow": "POST"})

    for path in ("/login", "/login/"):
        app.post(path)(login)
    for path in ("/logout", "/logout/"):
        app.post(path)(logout)
        app.get(path)(logout_by_get)


LOGIN_PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vraagbaak – inloggen</title>
<style>
body {font-family: system-ui, sans-serif; background: #f6f8fa; margin: 0; display: flex; min-height: 100vh;
      align-items: center; justify-content: center;}
form {background: white; border: 1px solid #d0d7de; border-radius: 8px; padding: 24px 28px; width: 340px;}
h1 {font-size: 1.4em; margin: 0 0 8px 0;} p {color: #57606a; margin: 0 0 16px 0;}
label {display: block; margin: 10px 0 4px 0; font-weight: 600;}
input {width: 100%; box-sizing: border-box; padding: 8px; border: 1px solid #d0d7de; border-radius: 6px; font-size: 1em;}
button {margin-top: 16px; width: 100%; padding: 9px; border: 0; border-radius: 6px; background: #f97316; color: white;
        font-size: 1em; font-weight: 600; cursor: pointer;}
#melding {color: #b42318; min-height: 1.2em; margin: 12px 0 0 0;}
</style></head>
<body><form id="inloggen">
<h1>Vraagbaak</h1><p>__MESSAGE__</p>
<label for="naam">Naam</label><input id="naam" name="username" type="text" autocomplete="username" required autofocus>
<label for="wachtwoord">Wachtwoord</label><input id="wachtwoord" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Inloggen</button>
<p id="melding" role="alert"></p>
</form>
<script>
document.getElementById("inloggen").addEventListener("submit", async (event) => {
  event.preventDefault();
  const melding = document.getElementById("melding");
  melding.textContent = "";
  try {
    const response = await fetch("login", {method: "POST", body: new FormData(event.target)});
    if (response.ok) { location.reload(); return; }
    const answer = await response.json().catch(() => ({}));
    melding.textContent = answer.detail || "Inloggen lukte niet.";
  } catch (error) {
    melding.textContent = "De server is niet bereikbaar.";
  }
});
</script></body></html>
"""


def login_page() -> str:
    """The login page: ours, in Dutch, so that a refused attempt can say why (Gradio's says only "incorrect")."""
    return LOGIN_PAGE.replace("__MESSAGE__", html.escape(LOGIN_MESSAGE))


# ------------------------------------------------------------------ the guard


class Guard:
    """ASGI middleware in front of the routes: who may do what, before anything is read or opened."""

    def __init__(self, app, *, accounts: Accounts | None, sessions: Sessions | None, uploads: UploadFolder):
        self.app, self.accounts, self.sessions, self.uploads = app, accounts, sessions, uploads
        self.session_hashes = SessionHashes()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        request = HTTPConnection(scope)
        path = scope["path"].rstrip("/")
        if path.endswith("/deep_link") or (scope["type"] == "http" and "deep_link" in request.query_params):
            return await _refuse(scope, receive, send, 404, messages.SHARED_STATES_OFF)
        if self._serves_an_upload(path):
            return await _refuse(scope, receive, send, 404, messages.NOT_FOUND)
        account, session = None, None
        if self.accounts is not None:
            session = self.sessions.token(request)
            account = self.accounts.get(self.sessions.user(request))
            if account is None:
                return await self._anonymous(scope, receive, send, path)
            if not all(self.session_hashes.claim(h, account.name) for h in _session_hashes_named(path, request)):
                return await _refuse(scope, receive, send, 403, messages.OTHER_SESSION)
        if scope["type"] != "http" or scope["method"] != "POST" or path in ("/login", "/logout"):
            return await self.app(scope, receive, send)
        if path.endswith("/upload"):
            if not may_update(account):
                return await _refuse(scope, receive, send, 403, messages.EDITORS_ONLY)
            return await self._upload(scope, receive, send, session)
        return await self._event(scope, receive, send, account, session)

    def _serves_an_upload(self, path: str) -> bool:
        """Whether ``path`` asks Gradio's file route for a file in the upload folder. The page never needs an upload
        served back, and Gradio serves its upload folder to anyone logged in who knows a file's path."""
        match = _FILE_ROUTE.match(path)
        if match is None:
            return False
        named = match.group(1)
        for _ in range(3):  # a name encoded once more than the server decodes
            named = unquote(named)
        folder = os.path.realpath(self.uploads.folder)
        return any(os.path.realpath(p) == folder or os.path.realpath(p).startswith(folder + os.sep)
                   for p in (named, os.path.abspath(named)))

    async def _anonymous(self, scope, receive, send, path: str):
        """Not logged in: the login page at the root, the login itself, and nothing else."""
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and path == "":
            return await HTMLResponse(login_page(), headers={"Cache-Control": "no-store"})(scope, receive, send)
        if scope["type"] == "http" and scope["method"] == "POST" and path in ("/login", "/logout"):
            return await self.app(scope, receive, send)
        return await _refuse(scope, receive, send, 401, messages.LOG_IN_FIRST)

    async def _upload(self, scope, receive, send, session):
        """Pass the upload on, and record the paths the upload route hands to this session."""
        # Uncompressed, so that the answer can be read: Gradio's Brotli middleware compresses for clients that accept it.
        scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"])
        status, body = [0], []

        async def recording_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body") and status[0] == 200:
                    try:
                        paths = json.loads(b"".join(body))
                    except ValueError:
                        paths = []
                    self.uploads.record(session, paths if isinstance(paths, list) else [])
            await send(message)

        return await self.app(scope, receive, recording_send)

    async def _event(self, scope, receive, send, account, session):
        """Any other POST (Gradio's events): a file it names must be one of this session's uploads,
        and only someone who may add texts names files at all; checked before Gradio sees it."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_EVENT_BODY:
                return await _refuse(scope, receive, send, 413, messages.REQUEST_TOO_LARGE)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if account is not None and not all(self.session_hashes.claim(h, account.name) for h in _body_session_hashes(body)):
            return await _refuse(scope, receive, send, 403, messages.OTHER_SESSION)
        files = _named_files(body)
        if files and not may_update(account):
            return await _refuse(scope, receive, send, 403, messages.EDITORS_ONLY)
        if any(not self.uploads.uploaded_by(session, f) for f in files):
            return await _refuse(scope, receive, send, 403, messages.NOT_UPLOADED)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: a disconnect, when it comes
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


# Gradio's file route, under its API prefix or not, and its older form: what follows is the file's path.
_FILE_ROUTE = re.compile(r"^(?:/gradio_api)?/file(?:=|/)(.*)$")
# GET routes that name a session hash in their path (a session's heartbeat, a stream's segments).
_HASH_IN_PATH = re.compile(r"^(?:/gradio_api)?/(?:heartbeat|stream)/([^/]+)(?:/[^/]+){0,3}$")


def _session_hashes_named(path: str, request: HTTPConnection) -> list[str]:
    """The Gradio session hashes a request names in its path or query (a POST's body: ``_body_session_hashes``)."""
    found = list(request.query_params.getlist("session_hash"))
    match = _HASH_IN_PATH.match(path)
    if match and request.scope.get("method") in ("GET", "HEAD"):  # (a POST to /stream/… names an event, not a hash)
        found.append(match.group(1))
    return found


def _body_session_hashes(body: bytes) -> list[str]:
    try:
        data = json.loads(body)
    except ValueError:
        return []
    value = data.get("session_hash") if isinstance(data, dict) else None
    return [value] if isinstance(value, str) else []


def _named_files(body: bytes) -> list:
    """The ``path`` of every file description in an event's JSON (Gradio's FileData: ``{"path": ..., "meta": ...}``),
    and anything else under a "path" key: a client may leave out the marker Gradio looks for."""
    try:
        data = json.loads(body)
    except ValueError:
        return []  # not JSON: Gradio's routes refuse it themselves
    found, stack = [], [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "path" in item:
                found.append(item["path"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


async def _refuse(scope, receive, send, status: int, message: str):
    if scope["type"] != "http":
        return await send({"type": "websocket.close", "code": 1008})
    response = JSONResponse({"detail": message}, status_code=status)
    return await response(scope, receive, send)
