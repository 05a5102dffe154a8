"""The index on disk: passages, their vectors, and how they are rebuilt.

Layout of an index folder::

    manifest.json               what built it and which generation is current
    <generation>.faiss          passage vectors (FAISS exact inner product)
    <generation>.sentences.faiss  one vector per sentence of each passage, in
                                passage order: the answering sentence is
                                chosen from these without embedding at query time
    <generation>.jsonl          the passages, one JSON object a line, same order

A build writes a new generation's files, then replaces ``manifest.json`` in
one ``os.replace``: a build killed at any moment leaves the previous manifest
pointing at complete files. The previous generation is kept on disk, so a
reader that read the old manifest just before the swap still finds its files.
Nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .chunking import ChunkingSettings, chunk_document, embedding_text
from .corpus import read_corpus
from .embeddings import DEFAULT_MODEL, Embedder, load_embedder
from .errors import IndexLoadError, VraagbaakError

__all__ = ["FORMAT_VERSION", "StoredPassage", "BuildReport", "PassageIndex", "build_index", "index_exists"]

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
EMBED_BATCH = 64  # texts per progress step


@dataclass(frozen=True)
class StoredPassage:
    id: str
    source: str
    title: str
    heading: str
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]  # absolute offsets in the document
    key: str  # hash of (model, prompt, embedded text): equal key, equal vector


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
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def index_exists(root: str | Path) -> bool:
    return (Path(root) / MANIFEST).is_file()


def _rebuild_hint(root: Path) -> str:
    return f"rebuild it with: python -m vraagbaak build --index {root}"


class PassageIndex:
    """A loaded index: manifest, passages and FAISS vectors, all in memory."""

    def __init__(self, root: Path, manifest: dict, passages: list[StoredPassage], vectors, sentence_vectors):
        self.root = root
        self.manifest = manifest
        self.passages = passages
        self.vectors = vectors  # faiss.IndexFlatIP
        self.sentence_vectors = sentence_vectors  # faiss.IndexFlatIP, rows follow sentence_start
        counts = np.array([len(p.sentences) for p in passages], dtype=np.int64)
        self.sentence_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._sentence_array = None  # numpy copy of sentence_vectors, made on first use
        self.doc_ranges: dict[str, tuple[int, int]] = {}
        for i, p in enumerate(passages):  # passages of a document are contiguous
            a, _ = self.doc_ranges.get(p.source, (i, i))
            self.doc_ranges[p.source] = (a, i + 1)
        self.doc_starts = np.array(sorted(a for a, _ in self.doc_ranges.values()), dtype=np.int64)
        self.is_lead = np.zeros(len(passages), np.float32)
        self.is_lead[self.doc_starts] = 1.0

    @property
    def model(self) -> str:
        return self.manifest["model"]

    @property
    def settings(self) -> ChunkingSettings:
        return ChunkingSettings(**self.manifest["chunking"])

    @classmethod
    def load(cls, root: str | Path) -> "PassageIndex":
        import faiss

        root = Path(root)
        manifest_path = root / MANIFEST
        if not manifest_path.is_file():
            raise IndexLoadError(f"no index in {root}: build it with: python -m vraagbaak build --index {root}")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            version = manifest.get("format_version")
        except (OSError, ValueError, AttributeError) as exc:
            raise IndexLoadError(f"the index in {root} is damaged (unreadable manifest); {_rebuild_hint(root)}") from exc
        if version != FORMAT_VERSION:
            raise IndexLoadError(
                f"the index in {root} has format version {version}, this Vraagbaak reads {FORMAT_VERSION}; "
                + _rebuild_hint(root)
            )
        gen = manifest.get("generation", "")
        try:
            passages = []
            with open(root / f"{gen}.jsonl", encoding="utf-8") as f:
                for line in f:
                    d = json.loads(line)
                    d["sentences"] = tuple(tuple(s) for s in d["sentences"])
                    passages.append(StoredPassage(**d))
            vectors = faiss.read_index(str(root / f"{gen}.faiss"))
            sentence_vectors = faiss.read_index(str(root / f"{gen}.sentences.faiss"))
        except Exception as exc:  # any failure to read our own files means damage
            raise IndexLoadError(f"the index in {root} is damaged ({type(exc).__name__}); {_rebuild_hint(root)}") from exc
        n_sentences = sum(len(p.sentences) for p in passages)
        dimension = manifest.get("dimension")
        if (
            vectors.ntotal != len(passages)
            or sentence_vectors.ntotal != n_sentences
            or vectors.d != dimension
            or sentence_vectors.d != dimension
        ):
            raise IndexLoadError(
                f"the index in {root} is damaged ({vectors.ntotal} vectors for {len(passages)} passages, "
                f"{sentence_vectors.ntotal} for {n_sentences} sentences); " + _rebuild_hint(root)
            )
        return cls(root, manifest, passages, vectors, sentence_vectors)

    def check_embedder(self, embedder: Embedder) -> None:
        """Refuse to search with a model other than the one that built the index."""
        m = self.manifest
        if embedder.name != m["model"] or embedder.dimension != m["dimension"] or embedder.prompts != m["prompts"]:
            raise IndexLoadError(
                f"the index in {self.root} was built with model {m['model']!r} "
                f"(dimension {m['dimension']}), not {embedder.name!r} (dimension {embedder.dimension}); "
                + _rebuild_hint(self.root)
            )

    def dense_search(self, query_vector: np.ndarray, k: int, source: str | None = None):
        """(scores, row numbers) of the ``k`` nearest passages, optionally of one document."""
        import faiss

        params = None
        if source is not None:
            if source not in self.doc_ranges:
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
            a, b = self.doc_ranges[source]
            params = faiss.SearchParameters(sel=faiss.IDSelectorRange(a, b))
            k = min(k, b - a)
        k = min(k, len(self.passages))
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores, rows = self.vectors.search(query_vector.reshape(1, -1).astype(np.float32), k, params=params)
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep]

    def all_vectors(self) -> np.ndarray:
        return _matrix(self.vectors)

    def sentence_similarities(self, query_vector: np.ndarray) -> np.ndarray:
        """Cosine of the query with every stored sentence (rows follow ``sentence_start``)."""
        # A flat FAISS index would rank all rows anyway; one matrix product gives
        # every score, which both the ranking and the answer choice need.
        if self._sentence_array is None:
            self._sentence_array = _matrix(self.sentence_vectors)
        return self._sentence_array @ query_vector

    def best_sentence_similarity(self, sentence_sims: np.ndarray) -> np.ndarray:
        """Per passage, the best cosine among its sentences."""
        if not len(self.passages):
            return np.zeros(0, np.float32)
        starts = self.sentence_start[:-1]
        best = np.maximum.reduceat(sentence_sims, np.minimum(starts, max(len(sentence_sims) - 1, 0)))
        best[np.diff(self.sentence_start) == 0] = -1.0  # a passage without sentences gets no bonus
        return best

    def sentence_texts(self, row: int) -> list[str]:
        p = self.passages[row]
        return [p.text[a - p.start : b - p.start] for a, b in p.sentences]


def _matrix(index) -> np.ndarray:
    n = index.ntotal
    return index.reconstruct_n(0, n) if n else np.zeros((0, index.d), np.float32)


# --------------------------------------------------------------------- build


def _passage_key(model: str, prompt: str, text: str) -> str:
    return hashlib.sha256(f"{model}\x00{prompt}\x00{text}".encode("utf-8")).hexdigest()[:32]


def _write_atomic(path: Path, write: Callable[[str], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _flat_index(dimension: int, vectors: np.ndarray):
    import faiss

    index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _save(root: Path, manifest: dict, passages: list[StoredPassage], vectors: np.ndarray, sentence_vectors: np.ndarray):
    import faiss

    root.mkdir(parents=True, exist_ok=True)
    gen = f"g{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
    index = _flat_index(manifest["dimension"], vectors)
    sentences = _flat_index(manifest["dimension"], sentence_vectors)

    def write_jsonl(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            for p in passages:
                f.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")

    _write_atomic(root / f"{gen}.jsonl", write_jsonl)
    _write_atomic(root / f"{gen}.faiss", lambda tmp: faiss.write_index(index, tmp))
    _write_atomic(root / f"{gen}.sentences.faiss", lambda tmp: faiss.write_index(sentences, tmp))
    previous = None
    if (root / MANIFEST).is_file():
        try:
            previous = json.loads((root / MANIFEST).read_text(encoding="utf-8")).get("generation")
        except ValueError:
            previous = None
    manifest = dict(manifest, generation=gen)
    _write_atomic(root / MANIFEST, lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=1), encoding="utf-8"))
    # Keep the current and the previous generation; older files are garbage.
    for path in root.iterdir():
        if path.suffix in (".faiss", ".jsonl") and path.name.split(".")[0] not in (gen, previous):
            path.unlink(missing_ok=True)
    return PassageIndex(root, manifest, passages, index, sentences)


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
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def build_index(
    corpus_dir: str | Path,
    index_dir: str | Path,
    model: str | None = None,
    model_dir: str | Path | None = None,
    settings: ChunkingSettings | None = None,
    progress: Callable[[int, int], None] | None | bool = True,
    on_skip: Callable[[str, str], None] | None = None,
) -> tuple[PassageIndex, BuildReport]:
    """Build or update the index of ``corpus_dir`` in ``index_dir``; return it and what was done.

    Only passages whose embedded text is new for this model are embedded;
    unchanged documents are reused as they are, without loading the model.
    ``progress(done, total)`` is called while embedding (True: a terminal bar).
    """
    from filelock import FileLock

    t0 = time.perf_counter()
    corpus_dir, root = Path(corpus_dir), Path(index_dir)
    report = BuildReport()

    def skipped(source, reason):
        report.skipped.append([source, reason])
        if on_skip:
            on_skip(source, reason)
        else:
            print(f"warning: skipped {source}: {reason}", file=sys.stderr)

    documents = read_corpus(corpus_dir, on_skip=skipped)
    if not documents:
        raise VraagbaakError(f"the corpus folder {corpus_dir} holds no readable .txt or .md files")
    if progress is True:
        progress = _progress_printer()

    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / ".build.lock")):
        old = None
        if index_exists(root):
            try:
                old = PassageIndex.load(root)
            except IndexLoadError as exc:
                print(f"warning: {exc}; building a new index", file=sys.stderr)
        model = model or (old.model if old else DEFAULT_MODEL)
        # The index keeps its model unless told otherwise; chunking follows the
        # current defaults (or ``settings``): when they differ from the index's,
        # every document is split anew, and unchanged texts keep their vectors.
        settings = settings or ChunkingSettings()
        if old and old.model != model:
            old = None  # another model: no vector can be reused
        # Compare what was recorded: a setting added since (missing there) is a change too.
        rechunk = bool(old) and old.manifest["chunking"] != settings.to_dict()

        old_docs = old.manifest["documents"] if old else {}
        new_sources = {d.source for d in documents}
        report.documents_removed = sum(1 for s in old_docs if s not in new_sources)

        # Every vector already computed for this model, by the hash of its text:
        # a passage or sentence whose text is unchanged is never embedded again.
        known: dict[str, np.ndarray] = {}
        if old:
            for p, vec in zip(old.passages, old.all_vectors()):
                known[p.key] = vec
            sentence_matrix = _matrix(old.sentence_vectors)
            prompt = old.manifest["prompts"].get("document", "")
            for row, p in enumerate(old.passages):
                a = int(old.sentence_start[row])
                for j, text in enumerate(old.sentence_texts(row)):
                    known[_passage_key(model, prompt, text)] = sentence_matrix[a + j]

        passages: list[StoredPassage] = []
        passage_keys: list[str] = []
        sentence_keys: list[str] = []
        to_embed: dict[str, str] = {}  # key -> text, in order of first appearance
        embedder: Embedder | None = None
        manifest_docs = {}
        for doc in documents:
            previous = old_docs.get(doc.source)
            if old and previous and previous["sha256"] == doc.sha256 and not rechunk:
                report.documents_unchanged += 1
                a, b = old.doc_ranges.get(doc.source, (0, 0))
                chunks = old.passages[a:b]
                prompt = old.manifest["prompts"].get("document", "")
            else:
                if previous and previous["sha256"] == doc.sha256:
                    report.documents_unchanged += 1  # only split anew
                elif previous:
                    report.documents_changed += 1
                else:
                    report.documents_added += 1
                if embedder is None:
                    embedder = load_embedder(model, model_dir)
                    report.model_loaded = True
                prompt = embedder.prompts.get("document", "")
                chunks = []
                for n, c in enumerate(chunk_document(doc.text, doc.title, settings, embedder.count_tokens)):
                    key = _passage_key(model, prompt, embedding_text(doc.title, c.text, settings))
                    chunks.append(
                        StoredPassage(f"{doc.source}#{n}", doc.source, doc.title, c.heading, c.start, c.end, c.text, c.sentences, key)
                    )
            for p in chunks:
                passages.append(p)
                passage_keys.append(p.key)
                if p.key in known:
                    report.passages_reused += 1
                elif p.key not in to_embed:
                    to_embed[p.key] = embedding_text(p.title, p.text, settings)
                    report.passages_embedded += 1
                for a, b in p.sentences:
                    text = p.text[a - p.start : b - p.start]
                    key = _passage_key(model, prompt, text)
                    sentence_keys.append(key)
                    if key not in known and key not in to_embed:
                        to_embed[key] = text
                        report.sentences_embedded += 1
            manifest_docs[doc.source] = {"sha256": doc.sha256, "title": doc.title}
        report.passages_total = len(passages)

        if to_embed:
            if embedder is None:  # only possible if the old index lost vectors
                embedder = load_embedder(model, model_dir)
                report.model_loaded = True
            # Shortest first: batches of similar length waste no time on padding
            # (passages and their sentences differ tenfold in length).
            keys = sorted(to_embed, key=lambda key: len(to_embed[key]))
            for lo in range(0, len(keys), EMBED_BATCH):
                batch = keys[lo : lo + EMBED_BATCH]
                for key, vec in zip(batch, embedder.embed_passages([to_embed[key] for key in batch])):
                    known[key] = vec
                if progress:
                    progress(min(lo + EMBED_BATCH, len(keys)), len(keys))

        dimension = embedder.dimension if embedder else old.manifest["dimension"]
        prompts = embedder.prompts if embedder else old.manifest["prompts"]
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": model,
            "dimension": dimension,
            "prompts": prompts,
            "chunking": settings.to_dict(),
            "documents": manifest_docs,
            "passages": len(passages),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        if old and not to_embed and not rechunk and old_docs == manifest_docs:
            index = old  # nothing changed: leave the files alone
        else:

            def stack(keys):
                return np.vstack([known[k] for k in keys]) if keys else np.zeros((0, dimension), np.float32)

            index = _save(root, manifest, passages, stack(passage_keys), stack(sentence_keys))
    report.seconds = round(time.perf_counter() - t0, 3)
    return index, report
