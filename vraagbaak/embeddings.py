"""Turning text into vectors.

Everything above this module talks to an ``Embedder``: the real one wraps a
sentence-transformers model (by default the bundled multilingual-e5-small);
tests register a deterministic fake under a name with ``register_embedder`` so
they need no model (the pattern of simonw's ``llm``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from .bundled_model import MODEL_NAME as DEFAULT_MODEL
from .bundled_model import ensure_bundled_model
from .errors import VraagbaakError

__all__ = [
    "DEFAULT_MODEL",
    "Embedder",
    "SentenceTransformerEmbedder",
    "load_embedder",
    "register_embedder",
]


class Embedder(Protocol):
    name: str  # recorded in the index; an index only accepts its own model
    dimension: int
    prompts: dict  # recorded in the index too: other prompts, other vectors
    max_tokens: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model; prompts come from the model's own config."""

    def __init__(self, name: str, path: str):
        # Never reach for a model hub: this tool runs offline.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # our own progress is the embedding bar

        self.name = name
        try:
            self.model = SentenceTransformer(path, device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise VraagbaakError(f"cannot load embedding model {name!r}: {exc}".splitlines()[0]) from exc
        self.dimension = int(self.model.get_embedding_dimension())
        self.prompts = {k: v for k, v in self.model.prompts.items() if k in ("query", "document")}
        self.max_tokens = int(self.model.max_seq_length)
        self._lock = threading.Lock()  # torch modules are not safe for concurrent calls

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            out = self.model.encode_query(texts, convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(out, dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            out = self.model.encode_document(
                texts, batch_size=16, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
            )
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dimension)

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for a passage: document prompt and special tokens included."""
        prompt = self.prompts.get("document", "")
        return len(self.model.tokenizer(prompt + text, add_special_tokens=True)["input_ids"])


_registry: dict[str, Callable[[], Embedder]] = {}
_cache: dict[tuple[str, str], Embedder] = {}
_cache_lock = threading.Lock()


def register_embedder(name: str, factory: Callable[[], Embedder]) -> None:
    """Make ``load_embedder(name)`` return ``factory()`` (used by tests and plugins)."""
    _registry[name] = factory
    for key in [key for key in _cache if key[0] == name]:
        del _cache[key]


def load_embedder(name: str | None = None, model_dir: str | Path | None = None) -> Embedder:
    """The embedder called ``name`` (default: the bundled e5-small), loaded once per process.

    ``name`` is a registered name, the bundled model's name, or any
    sentence-transformers model folder (or a name already in the local cache).
    """
    name = name or DEFAULT_MODEL
    key = (name, str(model_dir or "") if name == DEFAULT_MODEL else "")  # model_dir is only the bundled model's
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        if name in _registry:
            embedder = _registry[name]()
        elif name == DEFAULT_MODEL:
            folder = ensure_bundled_model(Path(model_dir) if model_dir else None)
            embedder = SentenceTransformerEmbedder(name, str(folder))
        else:
            embedder = SentenceTransformerEmbedder(name, name)
        _cache[key] = embedder
        return embedder
