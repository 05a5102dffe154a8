"""Vraagbaak's web page: ``python app.py`` (see ``--help``).

Updates the index when the corpus changed, then serves the page on
http://127.0.0.1:7860 and keeps following the corpus folder (``--no-watch``:
not). The page itself lives in ``vraagbaak/web.py``.
"""

import argparse
import os
import sys
import threading

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no requests to other hosts


def main(argv=None):
    from vraagbaak.embeddings import BACKENDS  # light: no model, no torch
    from vraagbaak.readers import SUFFIXES

    parser = argparse.ArgumentParser(description="Vraagbaak: search Dutch texts in the browser.")
    parser.add_argument("--corpus", default="corpus",
                        help=f"folder of the texts, subfolders included: {', '.join(SUFFIXES)} (default: corpus)")
    parser.add_argument("--store", "--index", dest="index", default="index",
                        help="index folder (default: index), or milvus:URI[#NAME] for a Milvus collection "
                             "(URI: a local .db folder or http://host:19530; token from env VRAAGBAAK_MILVUS_TOKEN)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only); another needs --users, or --open")
    parser.add_argument("--users", default=None,
                        help="users file (python -m vraagbaak users add ...): every page, API call and file then needs a login")
    parser.add_argument("--open", action="store_true", dest="open_to_all",
                        help="listen on a non-loopback --host without --users: anyone who reaches the port reads every document")
    parser.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    parser.add_argument("--model-dir", default=None, help="folder of the converted bundled model")
    parser.add_argument("--backend", choices=BACKENDS, default=os.environ.get("VRAAGBAAK_BACKEND"),
                        help="model runtime: int8 OpenVINO (default) or fp32 torch (env VRAAGBAAK_BACKEND)")
    parser.add_argument("--no-ocr", action="store_true",
                        help="skip scanned PDF pages and images instead of reading them with OCR (seconds per page)")
    parser.add_argument("--watch", action=argparse.BooleanOptionalAction, default=True,
                        help="follow the corpus folder: files saved, changed, removed or renamed there are searchable within "
                             "seconds, without pressing 'Index bijwerken' (default: on; --no-watch turns it off)")
    args = parser.parse_args(argv)
    if not args.users and not args.open_to_all and not _loopback(args.host):
        print(f"error: --host {args.host} lets other machines in; give --users FILE (accounts), or --open if everyone "
              "on the network may read every document", file=sys.stderr)
        return 2

    from vraagbaak.errors import VraagbaakError
    from vraagbaak.live import LiveIndex
    from vraagbaak.ocr import OcrSettings

    try:
        accounts = _accounts(args.users) if args.users else None
        live = LiveIndex(args.corpus, args.index, model_dir=args.model_dir, backend=args.backend,
                         ocr=OcrSettings(enabled=not args.no_ocr))
        report = live.update(progress=True)
    except VraagbaakError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"Index {args.index}: {report.passages_total} passages; "
        f"{report.passages_embedded} embedded now, {report.passages_reused} reused.",
        file=sys.stderr,
    )
    # Load the model now, not during the first question, and while gradio is
    # imported (2-3 s of Python). Both hold the GIL most of the time, so this
    # gains only 0.05-0.2 s on two cores (BENCHMARKS.md). Only after the
    # update, which may fork workers: no fork while another thread imports.
    warm = threading.Thread(target=live.current.warm_up, daemon=True)
    warm.start()
    import gradio as gr
    import uvicorn

    from vraagbaak.web import CSS, build_page, make_app

    warm.join()
    page = build_page(live, accounts)
    page.queue(default_concurrency_limit=None)
    app = make_app(live, page, accounts=accounts, theme=gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"]), css=CSS)
    watcher = None
    if args.watch:
        from vraagbaak.watch import Watcher

        watcher = Watcher(live, on_line=lambda line: print(line, file=sys.stderr)).start()
    print(f"Vraagbaak: http://{args.host}:{args.port}/" + (f" (volgt de map {args.corpus})" if watcher else ""), file=sys.stderr)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        if watcher is not None:
            watcher.stop()  # an update under way finishes first
    return 0


def _accounts(path: str):
    from vraagbaak.accounts import Accounts
    from vraagbaak.errors import VraagbaakError

    accounts = Accounts(path)
    if not accounts.names():
        raise VraagbaakError(f"no users in {path}; add one with: python -m vraagbaak users add NAME --role redacteur --users {path}")
    return accounts


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":
    sys.exit(main())
