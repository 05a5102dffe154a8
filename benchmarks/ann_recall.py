"""Recall of the approximate (HNSW) search and error of the compact vectors, on real e5 vectors.

    python benchmarks/ann_recall.py [--index DIR] [--questions FILE]

Not a test; nothing here asserts. It reads a store built with the bundled
model (default: the FAQ evaluation index that ``vraagbaak eval`` makes for
../shared/eval/rijksoverheid-faq/corpus) and pools its passage and sentence
vectors, about 15,000 real e5 vectors. The questions are embedded with the
bundled model. Printed, as one JSON object:

- recall@10 of the store's HNSW settings (``store.new_ann_index``,
  ``ann_search_parameters``) against exact search, with the candidates
  re-scored exactly as the store does, both for ``k=10`` (dense mode) and for
  the 200 candidates hybrid mode asks for;
- the cosine error of float16 passage vectors and of 8-bit sentence codes
  (``store.quantise_sentences``) against float32, over question-text pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from vraagbaak.embeddings import load_embedder  # noqa: E402
from vraagbaak.evaluate import read_questions  # noqa: E402
from vraagbaak.stores.base import quantise_sentences
from vraagbaak.stores.local import LocalStore, ann_search_parameters, new_ann_index  # noqa: E402

FAQ = ROOT.parent / "shared" / "eval" / "rijksoverheid-faq"


def recall(pool: np.ndarray, queries: np.ndarray, k: int) -> float:
    index = new_ann_index(pool)
    index.add(pool)
    exact = np.argsort(-(queries @ pool.T), axis=1)[:, :10]
    found = []
    for q, truth in zip(queries, exact):
        _, rows = index.search(q.reshape(1, -1), k, params=ann_search_parameters(k))
        rows = rows[0][rows[0] >= 0]
        top = rows[np.argsort(-(pool[rows] @ q), kind="stable")[:10]]  # exact re-scoring, as the store does
        found.append(len(set(top) & set(truth)) / 10)
    return round(float(np.mean(found)), 4)


def main():
    from vraagbaak.cli import _eval_index_dir

    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=None)
    parser.add_argument("--questions", type=Path, default=FAQ / "questions.jsonl")
    args = parser.parse_args()
    store = LocalStore.open(args.index or _eval_index_dir(FAQ / "corpus"))
    passages = np.asarray(store.vectors, np.float32)
    sentences = np.asarray(store.sentence_codes, np.float32) * np.asarray(store.sentence_scale)[:, None]
    pool = np.ascontiguousarray(np.vstack([passages, sentences]))
    embedder = load_embedder(store.config.model, backend=store.config.backend or None)  # the vectors' own model and backend
    questions = [q.query for q in read_questions(args.questions)]
    t = time.perf_counter()
    queries = embedder.embed_queries(questions)
    texts = [p.text for p in store.passages(range(min(len(queries), len(passages)))) if p is not None]
    exact32 = embedder.embed_passages(texts)
    quality = queries[: len(exact32)]  # question i with passage i: mostly unrelated pairs, which is fine for an error
    cos32 = np.sum(quality * exact32, axis=1)
    cos16 = np.sum(quality * exact32.astype(np.float16).astype(np.float32), axis=1)
    codes, scale = quantise_sentences(exact32)
    cos8 = np.sum(quality * (codes * scale[:, None]), axis=1)
    print(json.dumps({
        "pool_vectors": len(pool), "queries": len(queries), "dimension": pool.shape[1],
        "recall@10_k10": recall(pool, queries, 10),
        "recall@10_k200": recall(pool, queries, 200),
        "float16_cosine_error_max": float(np.abs(cos16 - cos32).max()),
        "int8_cosine_error_mean": float(np.abs(cos8 - cos32).mean()),
        "int8_cosine_error_max": float(np.abs(cos8 - cos32).max()),
        "seconds": round(time.perf_counter() - t, 1),
    }))


if __name__ == "__main__":
    main()
