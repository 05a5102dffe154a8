"""Building and updating an index, in stages that each do one thing.

    scan      list the corpus files with one stat each (nothing is read)
    plan      compare with the store: unchanged (equal size and mtime, or an
              equal hash), changed, added, removed; a new model or new
              chunking settings mean a new generation
    prepare   read, hash and split the files that may have changed, with
              their BM25 terms; a process pool over documents uses every core
    embed     vectors for passage and sentence texts the store does not have
              (a changed document reuses the vectors of its unchanged text; a
              renamed, moved or copied one those of the same content)
    commit    append to the store and commit once; extend the HNSW index or
              compact when tombstones pile up (the Milvus store flips each
              document as it is written, and its commit deletes what was replaced)

The store is wherever ``stores.locate`` says: an index folder, or Milvus.
Cost follows the change: an unchanged corpus costs one stat per file and one
read of the documents table, without loading the model.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import functools
import logging
import multiprocessing
import os
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping, NamedTuple

import numpy as np

from . import messages
from .chunking import ChunkingSettings, chunk_document, passage_context
from .corpus import CorpusFile, Document, Unreadable, file_fingerprint, read_task, scan_corpus, skip_reason
from .dates import file_date, stated_date
from .embeddings import (DEFAULT_MODEL, Embedder, can_pool_sentences, embed_with_sentences, load_embedder, model_available, probe_vectors,
                         resolve_backend, sentence_vectors)
from .errors import IndexLoadError, VraagbaakError
from .isolation import Failed, IsolationSettings, Workers
from .lexical import passage_terms
from .ocr import OcrSettings, missing_reason, page_task, pending_task
from .progress import BuildProgress, terminal_printer
from .readers import SUFFIXES, format_of
from .stores import DocumentRecord, Location, Passage, StoreConfig, StoreReader, locate, text_key

__all__ = ["BuildOptions", "BuildReport", "BuildSettings", "build_index", "unchanged_report"]

# Warnings and notes of a build go to the package's logger: the entry points show them on stderr (cli.setup_logging)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildSettings:
    """How a build cuts its work into pieces (none of it changes the index it makes)."""

    embed_batch: int = 512  # texts per embedding call (and progress step); the embedder batches them by length, so more is less padding
    docs_per_step: int = 500  # documents prepared, embedded and written per step (bounds memory)
    pool_min_files: int = 64  # fewer files than this are split in-process (a pool costs ~0.1 s to start)
    # Sentence vectors from their passage's own pass (``_Embedding``, "late chunking") instead of embedding each
    # sentence alone: builds embed half the tokens, and the answer sentence is chosen better (answer_hit@1 +0.03
    # to +0.10 on every dev set), but hybrid ranking loses what the separately embedded sentences tell it
    # (mrr@10 -0.05 seeds, -0.017 long-docs, -0.021 mixed-docs; BENCHMARKS.md, Round 4), so it is not the default.
    late_chunking: bool = False


# A long build commits what it has finished this often (``stores.base.StoreWriter.checkpoint``),
# so a kill loses at most about a minute of work. A checkpoint costs an fsync of
# the vector files and one SQLite commit: 10-60 ms, well under 1% of a minute
# of embedding (BENCHMARKS.md). The HNSW index waits for the final commit.
CHECKPOINT_SECONDS = 60.0


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
    unreadable: dict = field(default_factory=dict)  # source -> [size, mtime_ns] of each corpus file not indexed because it could not be read
    documents_dated: int = 0  # documents of an index made before documents had dates, given theirs (nothing embedded)
    model_loaded: bool = False
    written: bool = False  # the index changed (False: nothing had to be written)
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
    reuse: StoreReader | None  # where vectors of unchanged texts may come from
    still_unreadable: list[str] = field(default_factory=list)  # skipped before and unchanged since: not read again


def plan_changes(files: list[CorpusFile], store: StoreReader | None, model: str, chunking: dict, backend: str = "", rebuild: bool = False,
                 unreadable: "Mapping[str, tuple[int, int]] | None" = None, sentences: str | None = None) -> Plan:
    """``unreadable``: source -> (size, mtime_ns) of files a previous build could not read; with that stat still, they are not read again.
    ``sentences``: how this build makes sentence vectors (``StoreConfig.sentences``), None where
    that is known only once the model is loaded (a registered embedder: the index keeps its own)."""
    by_source = {f.source: f for f in files}
    same_model = store is not None and (store.config.model, store.config.backend) == (model, backend) and not rebuild
    new_generation = not same_model or store.config.chunking != chunking or sentences not in (None, store.config.sentences)
    known = store.document_records if store is not None and not new_generation else {}
    unchanged = [f.source for f in files if (r := known.get(f.source)) is not None and r.size == f.size and r.mtime_ns == f.mtime_ns]
    still = [f.source for f in files if unreadable and f.source not in known and tuple(unreadable.get(f.source, ())) == (f.size, f.mtime_ns)]
    settled = set(unchanged).union(still)
    return Plan(
        files=by_source,
        unchanged=unchanged,
        to_read=[s for s in by_source if s not in settled] if len(settled) < len(by_source) else [],
        removed=[s for s in known if s not in by_source],
        new_generation=new_generation,
        reuse=store if same_model else None,
        still_unreadable=still,
    )


def resplit_note(old: dict, new: dict, passages: int) -> str:
    """What a build says when the index's passages are made differently now (another
    chunking setting, or one an earlier version did not have): every document is
    read and split again, and only texts that changed are embedded anew."""
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    # Measured (BENCHMARKS.md, round 4): reading and splitting again took 31 s of
    # CPU for law-text's 9,567 passages (3.3 ms a passage; two processes split);
    # round 3's indexes re-embedded 0.2-12% of their passages (opening passages
    # whose title or heading is no longer put in front twice).
    minutes = passages * 0.0033 / 2 / 60
    return messages.resplit(changed, round(minutes), passages)

def document_date(file: CorpusFile) -> str:
    """The day a corpus file's metadata says it was made, else the day it was last modified (``dates``)."""
    return stated_date(file.path) or file_date(file.mtime_ns)

def _undated(plan: Plan, store) -> list[str]:
    """Unchanged documents an earlier version indexed without a date: given theirs from the file's metadata, nothing embedded."""
    if store is None or plan.new_generation:
        return []
    records = store.document_records
    return [source for source in plan.unchanged if not records[source].date]

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
            sha = file_fingerprint(path)
        except (OSError, Unreadable) as exc:
            skipped(source, skip_reason(exc))
            unreadable.append(source)
            continue
        if sha == known[source].sha256:
            touched.append(source)
        else:
            to_split.append(source)
    return touched, unreadable, to_split


# --------------------------------------------------------------- prepare


@dataclass
class PreparedDocument:
    record: DocumentRecord
    chunks: list[Passage]
    sentence_keys: list[list[int]]  # per chunk, the key of each sentence (embedded alone)
    sentence_texts: list[list[str]]
    embedding_texts: list[str]  # per chunk, what the model embeds
    sentence_spans: list[list[tuple[int, int]]] = field(default_factory=list)  # per chunk, its sentences in its embedding text


@dataclass(frozen=True)
class _Job:
    """What a worker needs besides the file; set before the pool forks."""

    settings: ChunkingSettings
    count_tokens: Callable[[str], int] | None
    model: str
    prompt: str
    ocr: OcrSettings = OcrSettings()


_job: _Job | None = None


class Skipped(NamedTuple):
    """A file that could not be read or split: why (shown), and a traceback for the log when it was a failure, not the file."""

    source: str
    reason: str
    details: str = ""


def prepare_read(file: CorpusFile, read: "Document | Failed") -> "PreparedDocument | Skipped":
    """Split one file read by a reading process (``corpus.read_task``); any failure costs this file only (``Skipped``)."""
    if isinstance(read, Failed):
        return Skipped(file.source, read.reason, read.details)
    record = DocumentRecord(file.source, read.title, read.sha256, file.size, file.mtime_ns, date=read.date or file_date(file.mtime_ns))
    try:
        return _split(record, read, _job)
    except Exception:
        return Skipped(file.source, "kon niet in passages worden verdeeld (fout in Vraagbaak)", traceback.format_exc())


def _page_breaks(page_starts: tuple[int, ...], start: int, end: int) -> tuple[tuple[int, int], ...]:
    """(offset, page) of the page ``start`` is on, then of each page that starts before ``end``."""
    if not page_starts:
        return ()
    first = max(1, bisect.bisect_right(page_starts, start))
    later = [(a, n + 1) for n, a in enumerate(page_starts) if start < a < end and n + 1 > first]
    return ((start, first), *later)


def _split(record: DocumentRecord, document: Document, job: _Job) -> PreparedDocument:
    doc = PreparedDocument(record, [], [], [], [], [])
    text = document.text
    for c in chunk_document(text, record.title, job.settings, job.count_tokens, document.headings):
        context = passage_context(record.title, c.heading, c.text, job.settings)
        embedded = "\n".join([*context, c.text])
        shift = len(embedded) - len(c.text) - c.start  # the passage ends its embedding text
        doc.sentence_spans.append([(a + shift, b + shift) for a, b in c.sentences])
        sentences = [text[a:b] for a, b in c.sentences]
        doc.chunks.append(
            Passage(
                c.heading, c.start, c.end, c.text, c.sentences, text_key(job.model, job.prompt, embedded),
                passage_terms("\n".join(context), c.text, compounds=bool(job.settings.lexical_terms)),  # BM25 sees what the model sees
                _page_breaks(document.page_starts, c.start, c.end),
            )
        )
        doc.embedding_texts.append(embedded)
        doc.sentence_texts.append(sentences)
        doc.sentence_keys.append([text_key(job.model, job.prompt, s) for s in sentences])
    return doc


def _prepare_batch(pairs):
    return [prepare_read(f, read) for f, read in pairs]


def prepare_files(items: list[CorpusFile], job: _Job, workers: int, tuning: BuildSettings = BuildSettings(),
                  readers: Workers | None = None, failed: dict[str, Failed] | None = None) -> Iterator:
    """Results of ``prepare_read`` in input order, a step of documents at a time.

    Each step is read in ``readers``, processes of their own with a memory
    ceiling (``isolation.py``), and split here, or for many files in a pool of
    forked workers, which inherit the job (the model's tokenizer, or a test's
    fake). Files in ``failed`` (their OCR already cost a reading process) are
    not read again. The next step is read while this one is split, and split
    while the caller embeds this one; at most two steps are held in memory.
    """
    global _job
    _job = job
    failed = failed or {}
    per_step = tuning.docs_per_step
    steps = [items[i : i + per_step] for i in range(0, len(items), per_step)]
    with contextlib.ExitStack() as stack:
        if readers is None:
            readers = stack.enter_context(Workers(workers))
        read = functools.partial(read_task, ocr=job.ocr)

        def read_step(step: list[CorpusFile]) -> list[tuple]:
            todo = [f for f in step if f.path not in failed]
            done = dict(zip((f.path for f in todo), readers.map(read, [(f.path, f.source) for f in todo])))
            return [(f, failed.get(f.path) or done[f.path]) for f in step]

        if workers <= 1 or len(items) < tuning.pool_min_files:
            for step in steps:
                yield _prepare_batch(read_step(step))
            return
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the tokenizer is used in forked workers
        with multiprocessing.get_context("fork").Pool(workers) as pool:

            def submit(pairs):
                size = max(1, len(pairs) // (4 * workers))
                return pool.map_async(_prepare_batch, [pairs[i : i + size] for i in range(0, len(pairs), size)])

            pending = submit(read_step(steps[0])) if steps else None
            for n in range(len(steps)):
                following = read_step(steps[n + 1]) if n + 1 < len(steps) else None
                results = pending.get()
                pending = submit(following) if following is not None else None
                yield [r for batch in results for r in batch]


# ----------------------------------------------------------------- embed


class _Embedding:
    """Vectors of passages and their sentences: reused from the store where it has them, else embedded.

    Two ways of making sentence vectors, recorded in the index (``StoreConfig.sentences``)
    so that one index never mixes them:

    - ``"late"``: from their passage's own pass of the model
      (``embeddings.embed_with_sentences``): each text is embedded once. A
      sentence's vector then depends on its passage, so it is reused only with
      its passage, by the passage's key (which covers the passage's text, and so
      its sentences' spans in it).
    - ``""`` (separate): each sentence embedded alone, reused by its own text's
      key wherever it occurs. Embedders without token states (a plugin's, the
      tests' fake) and indexes made before issue 39 work so.
    """

    def __init__(self, embedder: Embedder, reuse: StoreReader | None, report: BuildReport, batch: int = BuildSettings.embed_batch,
                 late: bool = False):
        self.embedder, self.reuse, self.report, self.batch, self.late = embedder, reuse, report, batch, late
        if reuse is not None and (reuse.config.sentences == "late") != late:
            self.reuse = None  # sentence vectors made the other way are not this index's
        self._by_content: dict[str, str] | None = None  # sha256 -> a source the store holds it under (made when first needed)

    def reusable_source(self, record: DocumentRecord) -> str | None:
        """Where the store may hold this document's vectors: its own old version, else a
        document with the same content (the file renamed or moved, or a copy of it)."""
        store = self.reuse
        if store is None or record.source in store.document_records:
            return record.source
        if self._by_content is None:
            self._by_content = {r.sha256: r.source for r in store.document_records.values()}
        return self._by_content.get(record.sha256)

    def known_vectors(self, source: str) -> dict[int, np.ndarray | tuple[np.ndarray, np.ndarray]]:
        """The vectors the old version of a document had (a changed file keeps most of them): by
        passage key, the passage's vector; and by each sentence's text key its vector, or
        (late) by passage key the pair (passage vector, its sentences' vectors)."""
        store = self.reuse
        if store is None or source not in store.document_records:
            return {}
        prompt = store.config.prompts.get("document", "")
        known = {}
        for p in store.document_passages(source):
            vectors = store.sentence_vectors(p.id)
            if self.late:
                known[p.key] = (store.passage_vector(p.id), vectors)
                continue
            known[p.key] = store.passage_vector(p.id)
            for (a, b), vector in zip(p.sentences, vectors):
                known[text_key(store.config.model, prompt, p.text[a - p.start : b - p.start])] = vector
        return known

    def vectors_for(self, docs: list[PreparedDocument]) -> list[tuple[np.ndarray, list[np.ndarray]]]:
        """(passage vectors, per passage its sentence vectors) of each document."""
        known: dict[int, np.ndarray] = {}
        for doc in docs:
            source = self.reusable_source(doc.record)
            if source is not None:
                known.update(self.known_vectors(source))
        if self.late:
            return self._late(docs, known)
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

    def _late(self, docs: list[PreparedDocument], known: dict) -> list[tuple[np.ndarray, list[np.ndarray]]]:
        to_embed: dict[int, tuple[str, list[tuple[int, int]]]] = {}
        for doc in docs:
            for chunk, text, spans in zip(doc.chunks, doc.embedding_texts, doc.sentence_spans):
                if chunk.key in known:
                    self.report.passages_reused += 1
                elif chunk.key not in to_embed:
                    to_embed[chunk.key] = (text, spans)
                    self.report.passages_embedded += 1
                    self.report.sentences_embedded += len(spans)
        keys = list(to_embed)
        for lo in range(0, len(keys), self.batch):
            batch = keys[lo : lo + self.batch]
            made = embed_with_sentences(self.embedder, [to_embed[k][0] for k in batch], [to_embed[k][1] for k in batch])
            known.update(zip(batch, made))
        d = self.embedder.dimension
        return [
            (
                np.array([known[c.key][0] for c in doc.chunks], np.float32).reshape(-1, d),
                [np.asarray(known[c.key][1], np.float32).reshape(-1, d) for c in doc.chunks],
            )
            for doc in docs
        ]

    def _embed(self, texts: dict[int, str]) -> dict[int, np.ndarray]:
        # Shortest first: batches of similar length waste no time on padding
        # (passages and their sentences differ tenfold in length).
        keys = sorted(texts, key=lambda key: len(texts[key]))
        out: dict[int, np.ndarray] = {}
        for lo in range(0, len(keys), self.batch):
            batch = keys[lo : lo + self.batch]
            out.update(zip(batch, self.embedder.embed_passages([texts[key] for key in batch])))
        return out


def _groups(results: list, texts: int, late: bool = False) -> Iterator[list]:
    """Consecutive results with about ``texts`` texts to embed between them (passages, and
    their sentences unless ``late``): what is embedded and written at once."""
    group, count = [], 0
    for result in results:
        group.append(result)
        if not isinstance(result, Skipped):
            count += len(result.chunks) if late else sum(1 + len(keys) for keys in result.sentence_keys)
        if count >= texts:
            yield group
            group, count = [], 0
    if group:
        yield group


# ------------------------------------------------------------------ build
# (commit: _Build._write_steps and _write append to the store's writer; _apply commits once)


def log_failure(log_file: Path, source: str, details: str) -> Path:
    """Append a reader's or splitter's traceback to the index's error log; return the log's path."""
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "a", encoding="utf-8") as out:
            out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {source}\n{details.rstrip()}\n")
    except OSError:
        pass  # a log that cannot be written must not stop the build it reports on
    return log_file



def _open_existing(location: Location):
    if not location.exists():
        return None
    try:
        return location.open()
    except IndexLoadError as exc:
        log.warning(messages.rebuilding_unreadable_index(exc))
        return None


@dataclass(frozen=True)
class BuildOptions:
    """What a build is told, made once (``Index.build``, ``LiveIndex``) and passed down whole."""

    model: str | None = None  # None: the index's own model, else the bundled one
    model_dir: str | Path | None = None
    backend: str | None = None  # "openvino" or "torch"; None: the index's, else int8 OpenVINO for the bundled model
    chunking: ChunkingSettings | None = None  # None: ChunkingSettings()
    workers: int | None = None  # processes that split documents; None: every core
    progress: Callable[[BuildProgress], None] | bool | None = True  # True: a line on a terminal
    on_skip: Callable[[str, str], None] | None = None  # (source, reason) of each skipped file; None: a warning on stderr
    checkpoint_seconds: float | None = CHECKPOINT_SECONDS  # commit finished documents this often; None: once, at the end
    rebuild: bool = False  # embed everything anew into a new generation (an index whose model changed under it)
    ranking: dict | None = None  # search.RankingSettings as a dict, recorded in a new index (what Index.load ranks with by default)
    tuning: BuildSettings = BuildSettings()
    ocr: OcrSettings = OcrSettings()  # OCR of scanned pages and images; OcrSettings(enabled=False) turns it off
    unreadable: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # source -> (size, mtime_ns) of files known unreadable: read again only once changed (BuildReport.unreadable)
    isolation: IsolationSettings = IsolationSettings()  # the reading processes' memory ceiling and patience


def unchanged_report(corpus_dir: str | Path, store: StoreReader, options: BuildOptions = BuildOptions()) -> BuildReport | None:
    """The report of a build that would change nothing, told from an open ``store`` alone (one stat
    per file; the index is not opened again); None when a build has something to do.

    For a watcher's periodic rescan, which mostly finds nothing: a build would
    also open the store (twice: recovery checks it first), which reads every
    document's record (on Milvus, a query of all of them). It does not look
    for what only a build repairs (a killed build's leftovers): the first
    update of a process is a build.
    """
    if options.rebuild:
        return None
    t0 = time.perf_counter()
    config = store.config
    model = options.model or config.model
    backend = resolve_backend(model, options.backend, config.backend)
    files = scan_corpus(Path(corpus_dir), lambda source, reason: None)
    chunking = (options.chunking or ChunkingSettings()).to_dict()
    plan = plan_changes(files, store, model, chunking, backend, unreadable=options.unreadable)
    if plan.to_read or plan.removed or plan.new_generation or _undated(plan, store):
        return None
    return BuildReport(documents_unchanged=len(plan.unchanged), passages_reused=store.passage_count, passages_total=store.passage_count,
                       unreadable={s: list(options.unreadable[s]) for s in plan.still_unreadable},
                       seconds=round(time.perf_counter() - t0, 3))


def build_index(corpus_dir: str | Path, index_dir, options: BuildOptions = BuildOptions()) -> tuple[StoreReader, BuildReport]:
    """Build or update the index of ``corpus_dir`` in ``index_dir`` (a folder, or a
    ``milvus:`` location); return it and what was done. Another model, backend or
    chunking than the index's builds it anew."""
    return _Build(corpus_dir, index_dir, options).run()


class _Build:
    """One run of ``build_index``: where, what it was told, and what it did."""

    def __init__(self, corpus_dir, index_dir, options: BuildOptions):
        self.corpus_dir, self.location, self.options = Path(corpus_dir), locate(index_dir), options
        self.report = BuildReport()
        self.files: dict[str, CorpusFile] = {}  # the corpus as scanned
        progress = options.progress
        self.progress = terminal_printer() if progress is True else (progress or None)

    def skipped(self, source: str, reason: str, details: str = "") -> None:
        self.report.skipped.append([source, reason])
        if source in self.files:  # a file of the corpus (not a link or an unknown type): its stat says when to try it again
            self.report.unreadable[source] = [self.files[source].size, self.files[source].mtime_ns]
        if details:  # a failure, not a bad file: the traceback goes to the log, one line to the user
            reason = messages.with_log(reason, log_failure(self.location.error_log, source, details))
        (self.options.on_skip or (lambda s, r: log.warning(messages.skipped(s, r))))(source, reason)

    def run(self) -> tuple[StoreReader, BuildReport]:
        t0 = time.perf_counter()
        files = scan_corpus(self.corpus_dir, self.skipped)  # before touching the index: a wrong folder changes nothing
        self.files = {f.source: f for f in files}
        self.location.check_writable()
        with self.location.lock():
            repaired = self.location.recover()
            if repaired:
                log.warning(messages.repaired(repaired))
            self.location.remember_corpus(self.corpus_dir)
            current = _open_existing(self.location)
            model = self.options.model or self._model_of(current)
            chunking = self.options.chunking or ChunkingSettings()
            same = current is not None and current.config.model == model
            backend = resolve_backend(model, self.options.backend, current.config.backend if same else None)
            sentences = sentence_vectors(model, backend) if self.options.tuning.late_chunking else ""
            store = self._continue_unfinished(current, model, backend, chunking, sentences)
            plan = plan_changes(files, store, model, chunking.to_dict(), backend, rebuild=self.options.rebuild, unreadable=self.options.unreadable,
                                sentences=sentences)
            self.report.unreadable.update({s: list(self.options.unreadable[s]) for s in plan.still_unreadable})
            if plan.new_generation and plan.reuse is not None and store is current:
                log.warning(resplit_note(store.config.chunking, chunking.to_dict(), store.passage_count))
            # A first build shows its documents from the first checkpoint on; a
            # rebuild (another model, chunking) keeps the old index until it is done.
            store = self._apply(plan, store, model, backend, chunking, publish_early=current is None, resumed=store is not current)
        self.report.seconds = round(time.perf_counter() - t0, 3)
        return store, self.report

    def _model_of(self, current) -> str:
        """The index's own model; the bundled one for a new index, or when the
        index's model cannot be found here (an index copied from another machine,
        a model folder deleted): then the index is rebuilt with it, and said so."""
        if current is None:
            return DEFAULT_MODEL
        model = current.config.model
        if model_available(model, self.options.model_dir):
            return model
        log.warning(messages.model_missing_rebuilding(model, DEFAULT_MODEL))
        return DEFAULT_MODEL

    def _continue_unfinished(self, current, model: str, backend: str, chunking: ChunkingSettings, sentences: str | None = None):
        """The store to plan against: a generation a killed build checkpointed, when it
        is for this model, backend, chunking and way of making sentence vectors (its
        documents are then unchanged, not embedded again); else the current one."""
        unfinished = self.location.unfinished()
        if unfinished is None:
            return current
        c = unfinished.config
        if (c.model, c.backend, c.chunking) == (model, backend, chunking.to_dict()) and sentences in (None, c.sentences):
            return unfinished
        self.location.discard(unfinished)
        return current

    def _apply(self, plan: Plan, store, model, backend, chunking, publish_early: bool, resumed: bool) -> StoreReader:
        """The prepare, embed and commit stages (``resumed``: ``store`` is an unfinished generation, to finish)."""
        report = self.report
        report.documents_unchanged = len(plan.unchanged)
        report.documents_removed = len(plan.removed)
        touched, unreadable, to_split = _check_changed_files(plan, store, self.skipped)
        undated = _undated(plan, store)
        report.documents_unchanged += len(touched)
        if store is not None and not plan.new_generation:  # their passages keep their rows and vectors
            records = store.document_records
            report.passages_reused += sum(records[s].rows for s in plan.unchanged + touched)
        report.documents_removed += len(unreadable)
        if not (to_split or touched or undated or unreadable or plan.removed or plan.new_generation or resumed):
            report.passages_total = store.passage_count
            return store  # nothing changed: not a byte written, no model loaded
        if not plan.files:
            raise VraagbaakError(messages.no_readable_files(SUFFIXES))
        embedder = None
        if to_split or plan.new_generation:
            embedder = load_embedder(model, self.options.model_dir, backend or None)
            report.model_loaded = True
        config = store.config if store is not None else None
        if embedder and plan.new_generation:  # a new index: its sentence vectors from their passages' pass where the embedder can
            config = StoreConfig(model, embedder.dimension, embedder.prompts, chunking.to_dict(), backend=getattr(embedder, "backend", ""),
                                 ranking=self.options.ranking, probes=probe_vectors(embedder),
                                 sentences="late" if self.options.tuning.late_chunking and can_pool_sentences(embedder) else "")
        if config.sentences == "late" and embedder and not can_pool_sentences(embedder):
            raise VraagbaakError(messages.no_token_states(model, self.location.build_command("--rebuild")))
        writer = self.location.create(config) if plan.new_generation else self.location.update(store)
        try:
            for source in touched + undated:
                f = plan.files[source]
                date = store.document_records[source].date or document_date(f)
                writer.touch(DocumentRecord(source, "", "", f.size, f.mtime_ns, date=date))
            report.documents_dated = len(undated) + sum(not store.document_records[s].date for s in touched)
            if to_split:
                self._embed_and_write(writer, store, plan, to_split, _Job(chunking, embedder.count_tokens, config.model, config.prompts.get("document", ""), self.options.ocr),
                                      _Embedding(embedder, plan.reuse, report, self.options.tuning.embed_batch, late=config.sentences == "late"),
                                      publish_early)
            # Removed after the new documents are written: a file renamed or moved
            # takes its vectors from its old name's passages, which a checkpoint
            # of the removal would already have deleted.
            for source in plan.removed + unreadable:
                writer.remove(source)
            if writer.live_rows == 0:
                raise VraagbaakError(messages.no_readable_files(SUFFIXES))
            committed = writer.commit()
            report.written = True
        except BaseException:
            writer.abort()
            raise
        compacted = writer.tidy(committed)
        if compacted is not None:
            committed, report.compacted = compacted, True
        report.passages_total = committed.passage_count
        return committed

    def _embed_and_write(self, writer, store, plan: Plan, to_split: list[str], job: "_Job", embedding: "_Embedding", publish_early: bool) -> None:
        """Split, embed and write the documents a group at a time (about ``BuildSettings.embed_batch``
        texts), committing a checkpoint every ``checkpoint_seconds``."""
        old = store.document_records if store is not None else {}
        replace = not plan.new_generation  # in the same generation, a document's new version replaces its old one
        files = [plan.files[s] for s in to_split]
        workers = self.options.workers or os.cpu_count() or 1
        with Workers(workers, self.options.isolation) as readers:
            failed = self._recognise_scans(files, readers)
            steps = prepare_files(files, job, workers, self.options.tuning, readers, failed)
            self._write_steps(writer, steps, files, plan, embedding, old, replace, publish_early)

    def _write_steps(self, writer, steps: Iterator, files: list[CorpusFile], plan: Plan, embedding: "_Embedding", old, replace: bool,
                     publish_early: bool) -> None:
        """The embed and commit stages for each prepared step of documents."""
        tracker = BuildProgress(len(files), sum(f.size for f in files))
        every = self.options.checkpoint_seconds
        started = last_checkpoint = time.monotonic()
        for step in steps:
            for group in _groups(step, self.options.tuning.embed_batch, embedding.late):
                docs = [r for r in group if not isinstance(r, Skipped)]
                for result in group:
                    if isinstance(result, Skipped):
                        self._skip_prepared(writer, result, old, replace)
                for doc, vectors in zip(docs, embedding.vectors_for(docs)):
                    self._write(writer, doc, vectors, old, replace)
                tracker.documents_done += len(group)
                tracker.bytes_done += sum(plan.files[r.record.source if not isinstance(r, Skipped) else r.source].size for r in group)
                tracker.passages_done += sum(len(d.chunks) for d in docs)
                if every is not None and time.monotonic() - last_checkpoint >= every and tracker.documents_done < tracker.documents_total:
                    writer.checkpoint(publish=publish_early)
                    tracker.checkpoints += 1
                    tracker.documents_committed = tracker.documents_done
                    last_checkpoint = time.monotonic()
                if self.progress:
                    tracker.elapsed = time.monotonic() - started
                    self.progress(dataclasses.replace(tracker))  # a snapshot: the tracker goes on counting

    def _recognise_scans(self, files: list[CorpusFile], readers: Workers) -> dict[str, Failed]:
        """OCR the scanned pages of the files to read, a page per task on every
        core, in the reading processes, into the OCR cache (where reading them
        finds the text), with progress per page. A build killed here keeps the
        pages already done. Returns, by path, the files whose scans cost a
        reading process (too large, too slow, or it died): they are not read again."""
        settings = self.options.ocr
        scans = [f for f in files if (fmt := format_of(f.path)) is not None and fmt.ocr]
        if not scans or missing_reason(settings):
            return {}  # no scans, or no OCR: reading each scan says why it was skipped
        pending = readers.map(functools.partial(pending_task, settings=settings), [f.path for f in scans])
        failed = {f.path: p for f, p in zip(scans, pending) if isinstance(p, Failed)}
        tasks = [task for p in pending if not isinstance(p, Failed) for task in p]
        if not tasks:
            return failed
        tracker = BuildProgress(len(files), sum(f.size for f in files), pages_total=len(tasks))
        started = time.monotonic()
        recognise = functools.partial(page_task, settings=settings)
        for position, result in readers.run(recognise, tasks, batch=1, skip=lambda task: task.path in failed):
            if isinstance(result, Failed):
                failed.setdefault(tasks[position].path, result)
            tracker.pages_done += 1
            tracker.elapsed = time.monotonic() - started
            if self.progress:
                self.progress(dataclasses.replace(tracker))
        return failed

    def _skip_prepared(self, writer, result: "Skipped", old, replace: bool) -> None:
        self.skipped(*result)
        if replace and result.source in old:
            writer.remove(result.source)
            self.report.documents_removed += 1

    def _write(self, writer, doc: PreparedDocument, vectors, old, replace: bool) -> None:
        previous = old.get(doc.record.source)
        if previous is None:
            self.report.documents_added += 1
        elif previous.sha256 == doc.record.sha256:
            self.report.documents_unchanged += 1  # only split anew
        else:
            self.report.documents_changed += 1
        if previous is not None and replace:
            writer.remove(doc.record.source)
        writer.add(doc.record, doc.chunks, *vectors)
