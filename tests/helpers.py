"""Small helpers the tests share: a build with the fake model, and what a reader sees."""

from __future__ import annotations

import numpy as np

from vraagbaak import Index


def build(corpus, store, **options) -> Index:
    """``Index.build`` with the fake model and no progress line (``store``: a folder, "milvus:…" or a Location)."""
    options.setdefault("model", "fake")
    options.setdefault("progress", False)
    return Index.build(corpus, store=store, **options)


def live_passages(index: Index) -> list:
    """Every passage a reader of ``index`` can return, in row order."""
    store = index.store
    return [p for source in sorted(index.documents, key=lambda s: store.document_records[s].first_row)
            for p in store.document_passages(source)]


def by_document(index: Index) -> dict[str, list[tuple]]:
    """Each document's passages (offsets, text, heading), as a reader sees them."""
    return {source: [(p.start, p.end, p.text, p.heading) for p in index.store.document_passages(source)] for source in index.documents}


def vectors_of(index: Index, passages) -> np.ndarray:
    return np.array([index.store.passage_vector(p.id) for p in passages], np.float32)


def within(seconds: float, work):
    """``work()``'s result, or a failed test if it takes longer than ``seconds`` (a hang fails instead of stalling the suite)."""
    import threading

    import pytest

    out, error = [], []

    def run():
        try:
            out.append(work())
        except BaseException as exc:  # noqa: BLE001 - raised again below, in the test's thread
            error.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds} s: a hang")
    if error:
        raise error[0]
    return out[0]


def shadow_library(monkeypatch, folder, name: str, source: str) -> None:
    """Put a package ``name`` with ``source`` before the real one on the import path.

    Files are read in processes of their own, which import what they need
    afresh from the parent's import path: this is how a test makes a reader
    library fail there (a patch of this process's modules would not reach them)."""
    from pathlib import Path

    package = Path(folder) / "schaduw" / name
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(package.parent))
