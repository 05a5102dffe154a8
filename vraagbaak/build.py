"""Building and updating an index, in stages that each do one thing.

    scan      list the corpus files with one stat each (nothing is read)
    plan      compare with the store: unchanged (equal size and mtime, or an
              equal hash), changed, added, removed; a new model or new
              chunking settings mean a new generation
    prepare   read, hash and split the files that may have changed, with
              their BM25 terms; a process pool over documents uses every core
    embed     vectors for passage and sentence texts the store does not have
              (a changed document reuses the vectors of its unchanged text)
    commit    append to the store and commit once; extend the HNSW index or
              compact when tombstones pile up (the Milvus store flips each
              document as it is written, and its commit deletes what was replaced)

The store is wherever ``locations.locate`` says: an index folder, or Milvus.
Cost follows the change: an unchanged corpus costs one stat per file and one
read of the documents table, without loading the model.
"""

from __future__ import annotations

import bisect
import multiprocessing
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .chunking import ChunkingSettings, chunk_document, embedding_text
from .corpus import CorpusFile, Document, Unreadable, fingerprint, read_document, scan_corpus, skip_reason
from .embeddings import DEFAULT_MODEL, Embedder, load_embedder, resolve_backend
from .errors import IndexLoadError, VraagbaakError
from .lexical import passage_terms
from .locations import Location, Store, locate
from .store import ChunkRecord, DocumentRecord, LocalStore, StoreConfig, StoreWriter, text_key

__all__ = ["BuildReport", "build_index"]

EMBED_BATCH = 512  # texts per embedding call (and progress step); the embedder batches them by length, so more is less padding
DOCS_PER_STEP = 500  # documents prepared, embedded and written per step (bounds memory)
POOL_MIN_FILES = 64  # fewer files than this are split in-process (a pool costs ~0.1 s to start)


@dataclass
class BuildReport:
    documents_added: int = 0
    documents_changed: int = 0
    documents_removed: int = 0
    documents_unchanged: int = 0
    passages_embedded: int = 0
    passages_reused: int = 0
    passages_total: int = 0
    sentences_embedded: int = 0
    skipped: list = field(default_factory=list)  # [source, reason] of unreadable files
    model_loaded: bool = False
    compacted: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------ plan


@dataclass
class Plan:
    files: dict[str, CorpusFile]  # every corpus file by source
    unchanged: list[str]  # equal size and mtime: not even read
    to_read: list[str]  # new, or stat changed, or everything when re-split
    removed: list[str]
    new_generation: bool  # write a whole new generation (first build, other model or chunking)
    reuse: Store | None  # where vectors of unchanged texts may come from


def plan_changes(files: list[CorpusFile], store: Store | None, model: str, chunking: dict, backend: str = "") -> Plan:
    by_source = {f.source: f for f in files}
    same_model = store is not None and (store.config.model, store.config.backend) == (model, backend)
    new_generation = not same_model or store.config.chunking != chunking
    known = store.document_records if store is not None and not new_generation else {}
    rows = known.rows() if known else {}  # (source, title, sha256, size, mtime_ns, ...) by source
    unchanged = [f.source for f in files if (r := rows.get(f.source)) is not None and r[3] == f.size and r[4] == f.mtime_ns]
    same = set(unchanged)
    return Plan(
        files=by_source,
        unchanged=unchanged,
        to_read=[s for s in by_source if s not in same] if len(same) < len(by_source) else [],
        removed=[s for s in known if s not in by_source],
        new_generation=new_generation,
        reuse=store if same_model else None,
    )


# --------------------------------------------------------------- prepare


@dataclass
class PreparedDocument:
    record: DocumentRecord
    chunks: list[ChunkRecord]
    sentence_keys: list[list[int]]  # per chunk, the key of each sentence
    sentence_texts: list[list[str]]
    embedding_texts: list[str]  # per chunk, what the model embeds


@dataclass(frozen=True)
class _Job:
    """What a worker needs besides the file; set before the pool forks."""

    settings: ChunkingSettings
    count_tokens: Callable[[str], int] | None
    model: str
    prompt: str


_job: _Job | None = None


def prepare_file(file: CorpusFile):
    """Read, extract and split one file: a PreparedDocument, or (source, reason) if it cannot be read."""
    try:
        document = read_document(file.path, file.source)
    except (OSError, Unreadable) as exc:
        return (file.source, skip_reason(exc))
    record = DocumentRecord(file.source, document.title, document.sha256, file.size, file.mtime_ns)
    return _split(record, document, _job)


def _page_breaks(page_starts: tuple[int, ...], start: int, end: int) -> tuple[tuple[int, int], ...]:
    """(offset, page) of the page ``start`` is on, then of each page that starts before ``end``."""
    if not page_starts:
        return ()
    first = max(1, bisect.bisect_right(page_starts, start))
    later = [(a, n + 1) for n, a in enumerate(page_starts) if start < a < end and n + 1 > first]
    return ((start, first), *later)


def _split(record: DocumentRecord, document: Document, job: _Job) -> PreparedDocument:
    doc = PreparedDocument(record, [], [], [], [])
    text = document.text
    for c in chunk_document(text, record.title, job.settings, job.count_tokens, document.headings):
        embedded = embedding_text(record.title, c.text, job.settings)
        sentences = [text[a:b] for a, b in c.sentences]
        doc.chunks.append(
            ChunkRecord(
                c.heading, c.start, c.end, c.text, c.sentences, text_key(job.model, job.prompt, embedded),
                passage_terms(record.title, c.text), _page_breaks(document.page_starts, c.start, c.end),
            )
        )
        doc.embedding_texts.append(embedded)
        doc.sentence_texts.append(sentences)
        doc.sentence_keys.append([text_key(job.model, job.prompt, s) for s in sentences])
    return doc


def _prepare_batch(files):
    return [prepare_file(f) for f in files]


def prepare_files(items: list[CorpusFile], job: _Job, workers: int) -> Iterator:
    """Results of ``prepare_file`` in input order, a step of documents at a time.

    With a pool, the next step is prepared while the caller embeds and
    writes this one; at most two steps are held in memory.
    """
    global _job
    _job = job
    steps = [items[i : i + DOCS_PER_STEP] for i in range(0, len(items), DOCS_PER_STEP)]
    if workers <= 1 or len(items) < POOL_MIN_FILES:
        for step in steps:
            yield _prepare_batch(step)
        return
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the tokenizer is used in forked workers
    # fork: workers inherit the job (the model's tokenizer, or a test's fake)
    with multiprocessing.get_context("fork").Pool(workers) as pool:

        def submit(step):
            size = max(1, len(step) // (4 * workers))
            return pool.map_async(_prepare_batch, [step[i : i + size] for i in range(0, len(step), size)])

        pending = submit(steps[0]) if steps else None
        for n in range(len(steps)):
            results = pending.get()
            pending = submit(steps[n + 1]) if n + 1 < len(steps) else None
            yield [r for batch in results for r in batch]


# ----------------------------------------------------------------- embed


class _Embedding:
    """Vectors by text key: reused from the store where it has them, else embedded."""

    def __init__(self, embedder: Embedder, reuse: Store | None, progress, report: BuildReport):
        self.embedder, self.reuse, self.progress, self.report = embedder, reuse, progress, report
        self.done = 0

    def known_vectors(self, source: str) -> dict[int, np.ndarray]:
        """The vectors the old version of a document had, by key (a changed file keeps most of them)."""
        store = self.reuse
        if store is None or source not in store.document_records:
            return {}
        prompt = store.config.prompts.get("document", "")
        known = {}
        for p in store.document_passages(source):
            known[p.key] = store.passage_vector(p.id)
            vectors = store.sentence_vectors(p.id)
            for (a, b), vector in zip(p.sentences, vectors):
                known[text_key(store.config.model, prompt, p.text[a - p.start : b - p.start])] = vector
        return known

    def vectors_for(self, docs: list[PreparedDocument]) -> list[tuple[np.ndarray, list[np.ndarray]]]:
        known: dict[int, np.ndarray] = {}
        for doc in docs:
            known.update(self.known_vectors(doc.record.source))
        to_embed: dict[int, str] = {}
        for doc in docs:
            for chunk, text in zip(doc.chunks, doc.embedding_texts):
                if chunk.key in known:
                    self.report.passages_reused += 1
                elif chunk.key not in to_embed:
                    to_embed[chunk.key] = text
                    self.report.passages_embedded += 1
            for keys, texts in zip(doc.sentence_keys, doc.sentence_texts):
                for key, text in zip(keys, texts):
                    if key not in known and key not in to_embed:
                        to_embed[key] = text
                        self.report.sentences_embedded += 1
        known.update(self._embed(to_embed))
        d = self.embedder.dimension
        return [
            (
                np.array([known[c.key] for c in doc.chunks], np.float32).reshape(-1, d),
                [np.array([known[k] for k in keys], np.float32).reshape(-1, d) for keys in doc.sentence_keys],
            )
            for doc in docs
        ]

    def _embed(self, texts: dict[int, str]) -> dict[int, np.ndarray]:
        # Shortest first: batches of similar length waste no time on padding
        # (passages and their sentences differ tenfold in length).
        keys = sorted(texts, key=lambda key: len(texts[key]))
        out = {}
        for lo in range(0, len(keys), EMBED_BATCH):
            batch = keys[lo : lo + EMBED_BATCH]
            out.update(zip(batch, self.embedder.embed_passages([texts[key] for key in batch])))
            self.done += len(batch)
            if self.progress:
                self.progress(self.done, self.done + len(keys) - lo - len(batch))
        return out


# ---------------------------------------------------------------- commit


def compact(store: LocalStore) -> LocalStore:
    """A new generation with only the live rows (tombstones dropped), same config."""
    writer = StoreWriter.create(store.root, store.config)
    try:
        for source, record in sorted(store.document_records.items(), key=lambda kv: kv[1].first_row):
            passages = store.document_passages(source)
            chunks = [ChunkRecord(p.heading, p.start, p.end, p.text, p.sentences, p.key, p.terms, p.pages) for p in passages]
            vectors = np.array([store.passage_vector(p.id) for p in passages], np.float32)
            writer.add(record, chunks, vectors, [store.sentence_vectors(p.id) for p in passages])
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


# ------------------------------------------------------------------ build


def _progress_printer():
    """A tqdm bar on a terminal; silence elsewhere (logs, pipes, CI)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int):
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="Embedding passages and sentences", unit="text", file=sys.stderr)
        bar.total = max(bar.total, total)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _open_existing(location: Location):
    if not location.exists():
        return None
    try:
        return location.open()
    except IndexLoadError as exc:
        print(f"warning: {exc}; building a new index", file=sys.stderr)
        return None


def build_index(
    corpus_dir: str | Path,
    index_dir: str | Path,
    model: str | None = None,
    model_dir: str | Path | None = None,
    settings: ChunkingSettings | None = None,
    progress: Callable[[int, int], None] | None | bool = True,
    on_skip: Callable[[str, str], None] | None = None,
    workers: int | None = None,
    backend: str | None = None,
) -> tuple[Store, BuildReport]:
    """Build or update the index of ``corpus_dir`` in ``index_dir``; return it and what was done.

    ``progress(done, total)`` is called while embedding (True: a terminal bar);
    ``workers``: processes that split documents (default: every core);
    ``backend``: "openvino" or "torch" (default: the index's, else int8 OpenVINO for
    the bundled model); another backend than the index's builds it anew.
    """
    t0 = time.perf_counter()
    corpus_dir, location = Path(corpus_dir), locate(index_dir)
    report = BuildReport()

    def skipped(source, reason):
        report.skipped.append([source, reason])
        (on_skip or (lambda s, r: print(f"warning: skipped {s}: {r}", file=sys.stderr)))(source, reason)

    files = scan_corpus(corpus_dir, skipped)  # before touching the index: a wrong folder changes nothing
    location.check_writable()

    with location.lock():
        location.recover()
        store = _open_existing(location)
        model = model or (store.config.model if store else DEFAULT_MODEL)
        settings = settings or ChunkingSettings()
        same = store is not None and store.config.model == model
        recorded = resolve_backend(model, backend, store.config.backend if same else None)
        plan = plan_changes(files, store, model, settings.to_dict(), recorded)
        store = _apply(plan, store, location, model, model_dir, recorded, settings, report, skipped, progress, workers)
    report.seconds = round(time.perf_counter() - t0, 3)
    return store, report


def _apply(plan: Plan, store, location: Location, model, model_dir, backend, settings, report, skipped, progress, workers) -> Store:
    """The prepare, embed and commit stages of ``build_index``."""
    report.documents_unchanged = len(plan.unchanged)
    report.documents_removed = len(plan.removed)
    touched, unreadable, to_split = _check_changed_files(plan, store, skipped)
    report.documents_unchanged += len(touched)
    if store is not None and not plan.new_generation:  # their passages keep their rows and vectors
        rows = store.document_records.rows()
        report.passages_reused += sum(rows[s][6] for s in plan.unchanged + touched)
    report.documents_removed += len(unreadable)
    if not (to_split or touched or unreadable or plan.removed or plan.new_generation):
        report.passages_total = store.passage_count
        return store  # nothing changed: not a byte written, no model loaded
    if not plan.files:
        raise VraagbaakError("the corpus folder holds no readable files (.txt, .md, .pdf, .docx, .odt, .html)")
    embedder = None
    if to_split or plan.new_generation:
        embedder = load_embedder(model, model_dir, backend or None)
        report.model_loaded = True
    config = store.config if store is not None else None
    if embedder:
        config = StoreConfig(model, embedder.dimension, embedder.prompts, settings.to_dict(), backend=getattr(embedder, "backend", ""))
    if progress is True:
        progress = _progress_printer()
    writer = location.create(config) if plan.new_generation else location.update(store)
    try:
        for source in touched:
            f = plan.files[source]
            writer.touch(DocumentRecord(source, "", "", f.size, f.mtime_ns))
        for source in plan.removed + unreadable:
            writer.remove(source)
        if to_split:
            _split_embed_write(writer, store, plan, to_split, embedder, config, settings, report, skipped, progress, workers)
        if writer.live_rows == 0:
            raise VraagbaakError("the corpus folder holds no readable files (.txt, .md, .pdf, .docx, .odt, .html)")
        committed = writer.commit()
    except BaseException:
        writer.abort()
        raise
    if writer.needs_compaction():
        committed = compact(committed)
        report.compacted = True
    report.passages_total = committed.passage_count
    return committed


def _check_changed_files(plan: Plan, store, skipped) -> tuple[list[str], list[str], list[str]]:
    """Files in the store whose stat changed are read and hashed here (as git
    does): (same text, only touched; now unreadable; to split)."""
    touched, unreadable, to_split = [], [], []
    known = store.document_records if store is not None and not plan.new_generation else {}
    for source in plan.to_read:
        if source not in known:
            to_split.append(source)
            continue
        path = plan.files[source].path
        try:
            sha = fingerprint(path, Path(path).read_bytes())
        except (OSError, Unreadable) as exc:
            skipped(source, skip_reason(exc))
            unreadable.append(source)
            continue
        if sha == known[source].sha256:
            touched.append(source)
        else:
            to_split.append(source)
    return touched, unreadable, to_split


def _split_embed_write(writer, store, plan, to_split, embedder, config, settings, report, skipped, progress, workers) -> None:
    old = store.document_records if store is not None else {}
    job = _Job(settings, embedder.count_tokens, config.model, config.prompts.get("document", ""))
    embedding = _Embedding(embedder, plan.reuse, progress, report)
    results = prepare_files([plan.files[s] for s in to_split], job, workers or os.cpu_count() or 1)
    for step in results:
        docs = []
        for result in step:
            if isinstance(result, tuple):
                skipped(*result)
                if result[0] in old and not plan.new_generation:
                    writer.remove(result[0])
                    report.documents_removed += 1
            else:
                docs.append(result)
        for doc, (vectors, sentence_vectors) in zip(docs, embedding.vectors_for(docs)):
            previous = old.get(doc.record.source)
            if previous is None:
                report.documents_added += 1
            elif previous.sha256 == doc.record.sha256:
                report.documents_unchanged += 1  # only split anew
            else:
                report.documents_changed += 1
            if previous is not None and not plan.new_generation:
                writer.remove(doc.record.source)
            writer.add(doc.record, doc.chunks, vectors, sentence_vectors)
