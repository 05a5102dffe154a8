"""Vraagbaak's web page: ``python app.py`` (see ``--help``).

Serves the page on http://127.0.0.1:7860 and keeps following the corpus
folder: an index that exists answers at once, and the watcher's first scan
brings in what changed since (``LiveIndex.open``). With ``--no-watch``, or
without an index yet, the index is first brought up to date with the folder,
then served. The page itself lives in ``vraagbaak/web/``; the
options it shares with the command line are the command line's own
(``vraagbaak.cli``).
"""

import os
import threading

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no requests to other hosts

import click  # noqa: E402 - after the environment above

from vraagbaak import messages  # noqa: E402
from vraagbaak.cli import (  # noqa: E402 - light: no model, no torch, no gradio
    backend_option, corpus_option, model_dir_option, model_option, no_ocr_option, setup_logging, store_option, user_errors,
    users_option,
)
from vraagbaak.errors import VraagbaakError  # noqa: E402


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@corpus_option()
@store_option("index")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only); another needs --users, or --open.")
@click.option("--port", type=int, default=7860, show_default=True)
@users_option(required=False, help="Users file (python -m vraagbaak users add ...): every page, API call and file then needs a login.")
@click.option("--open", "open_to_all", is_flag=True,
              help="Listen on a non-loopback --host without --users: anyone who reaches the port reads every document.")
@click.option("--proxy", "proxies", multiple=True, metavar="ADDRESS",
              help="A reverse proxy in front of the app (e.g. 127.0.0.1; repeat for several): only from these addresses "
                   "are X-Forwarded-For and X-Forwarded-Proto believed (the client's address, HTTPS).")
@click.option("--feedback", "feedback_dir", is_flag=False, flag_value="", default=None, metavar="[PATH]",
              help="Keep readers' judgments of hits (the buttons 'Beantwoordt mijn vraag' / 'Niet wat ik zoek', /feedback, "
                   "a quality panel for redacteuren): in the index folder, or in PATH (required for a Milvus store). "
                   "Off by default: questions can hold personal data (README, 'Oordelen').")
@model_option()
@model_dir_option
@backend_option
@no_ocr_option
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Follow the corpus folder: files saved, changed, removed or renamed there are searchable within "
                   "seconds, without pressing 'Index bijwerken'.")
@user_errors
def main(corpus_dir, index_dir, host, port, users_file, open_to_all, proxies, feedback_dir, model, model_dir, backend, no_ocr, watch):
    """Vraagbaak: search Dutch texts in the browser."""
    setup_logging()
    if not users_file and not open_to_all and not _loopback(host):
        raise VraagbaakError(messages.open_host_needs_accounts(host))
    from vraagbaak.live import LiveIndex
    from vraagbaak.ocr import OcrSettings

    accounts = _accounts(users_file) if users_file else None
    feedback = _feedback(index_dir, feedback_dir) if feedback_dir is not None else None
    live = LiveIndex(corpus_dir, index_dir, model=model, model_dir=model_dir, backend=backend, ocr=OcrSettings(enabled=not no_ocr))
    # With a watcher, its first scan is the update: the page answers from the index as it is meanwhile.
    index = _open_or_update(live, index_dir, check_later=watch)
    # Load the model now, not during the first question, and while gradio is imported and the page built.
    # Both hold the GIL for most of it (the tokenizer's 250,000 pieces, gradio's modules), so on two cores
    # the overlap gains little (BENCHMARKS.md); what counts is how much each holds it. Only after an
    # update, which may fork workers: no fork while another thread imports.
    warm = threading.Thread(target=index.warm_up, name="vraagbaak-warm-up", daemon=True)
    warm.start()
    from vraagbaak.web.render import CSS  # vraagbaak.web first: gradio's import then skips its stub writer
    from vraagbaak.web.server import make_app

    import gradio as gr
    import uvicorn

    app = make_app(live, accounts=accounts, proxies=proxies, feedback=feedback,
                   theme=gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"]), css=CSS)
    watcher = None
    if watch:
        from vraagbaak.watch import Watcher

        # after the warm-up (Watcher._run_after): its first scan may fork, and it competes with nothing then
        watcher = Watcher(live, on_line=lambda line: click.echo(line, err=True)).start(after=warm)
    click.echo(f"Vraagbaak: http://{host}:{port}/" + (f" (volgt de map {corpus_dir})" if watcher else ""), err=True)
    try:
        # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-* from 127.0.0.1 by default; make_app
        # believes them only from the --proxy addresses.
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)
    finally:
        if watcher is not None:
            watcher.stop()  # an update under way finishes first


def _open_or_update(live, index_dir, check_later: bool):
    """The index to serve: as it is on disk when ``check_later`` (the watcher's first scan follows the folder);
    else, or when there is none yet or it needs embedding anew for another model or backend
    (``LiveIndex.open``), brought up to date with the corpus folder first, with progress."""
    index = live.open() if check_later else None
    if index is not None:
        click.echo(messages.index_opened(index_dir, index.passage_count), err=True)
        return index
    report = live.update(progress=True)
    click.echo(f"Index {index_dir}: {report.passages_total} passages; "
               f"{report.passages_embedded} embedded now, {report.passages_reused} reused.", err=True)
    return live.current


def _accounts(path):
    from vraagbaak.accounts import Accounts

    accounts = Accounts(path)
    if not accounts.names():
        raise VraagbaakError(messages.no_users(path))
    return accounts


def _feedback(index_dir, path: str):
    """The judgments file (``--feedback [PATH]``), opened before the first build: a folder that cannot hold it stops
    the start with a clear error instead of every judgment failing later."""
    from vraagbaak.feedback import Feedback, feedback_folder

    return Feedback.open(feedback_folder(index_dir, path or None))


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":
    main(prog_name="python app.py")
