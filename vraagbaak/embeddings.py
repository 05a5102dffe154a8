"""Turning text into vectors.

Everything above this module talks to an ``Embedder``: by default the bundled
multilingual-e5-small on OpenVINO (``openvino_model.py``, no torch; int8, or
fp32 on processors without VNNI: ``cpu.openvino_precision``), or
any sentence-transformers model on torch (``--backend torch``); tests register a deterministic fake under a name with ``register_embedder`` so
they need no model (the pattern of simonw's ``llm``).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from . import messages
from .bundled_model import MODEL_NAME as DEFAULT_MODEL
from .bundled_model import ensure_bundled_model
from .cpu import PRECISION_ENV, PRECISIONS, openvino_precision, quiet_torch_threads
from .errors import VraagbaakError

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "Embedder",
    "SentenceTransformerEmbedder",
    "AGREEMENT",
    "PROBES",
    "backend_choice",
    "can_pool_sentences",
    "embed_with_sentences",
    "sentence_vectors",
    "probe_agreement",
    "probe_vectors",
    "load_embedder",
    "model_available",

    "register_embedder",
    "unregister_embedder",
    "resolve_backend",
]

BACKENDS = ("openvino", "torch")  # what --backend / VRAAGBAAK_BACKEND take (an index records "openvino-int8", "openvino-fp32" or "torch")


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

    backend = "torch"

    def __init__(self, name: str, path: str):
        # Never reach for a model hub: this tool runs offline.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        quiet_torch_threads()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # our own progress is the embedding bar

        self.name = name
        try:
            self.model = SentenceTransformer(path, device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise VraagbaakError(messages.model_not_loadable(name, str(exc).splitlines()[0] if str(exc) else "")) from exc
        self.dimension = int(self.model.get_embedding_dimension())
        # token_states' mean is the passage vector only for a mean-pooling model (e5 is one; CLS-pooled ones are not)
        pooling = [m for m in self.model if hasattr(m, "get_config_dict") and "pooling_mode" in m.get_config_dict()]
        self.mean_pooled = len(pooling) == 1 and pooling[0].get_config_dict()["pooling_mode"] == "mean" and pooling[0].get_config_dict().get("include_prompt", True)
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

    def token_states(self, texts: list[str], batch: int = 16):
        """As ``OpenVinoEmbedder.token_states``: (index, last hidden states of its
        tokens, their character spans in the text; (-1, -1) for the prompt's and
        special tokens) for each passage text, shortest texts first."""
        import torch

        prompt = self.prompts.get("document", "")
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for lo in range(0, len(order), batch):
            rows = order[lo : lo + batch]
            features = self.model.tokenizer([prompt + texts[i] for i in rows], padding=True, truncation=True, max_length=self.max_tokens,
                                            return_tensors="pt", return_offsets_mapping=True, return_special_tokens_mask=True)
            offsets = features.pop("offset_mapping").numpy().astype(np.int64) - len(prompt)
            special = features.pop("special_tokens_mask").numpy().astype(bool)
            with self._lock, torch.inference_mode():
                hidden = self.model[0](dict(features))["token_embeddings"].float().numpy()
            mask = features["attention_mask"].numpy().astype(bool)
            for row, i in enumerate(rows):
                spans = offsets[row][mask[row]]
                spans[:, 0] = np.maximum(spans[:, 0], 0)  # a word's token may start at the space after the prompt
                spans[special[row][mask[row]] | (spans[:, 1] <= 0)] = -1
                yield i, hidden[row][mask[row]], spans


_registry: dict[str, Callable[[], Embedder]] = {}
_cache: dict[tuple[str, str, str], Embedder] = {}
_cache_lock = threading.Lock()


def register_embedder(name: str, factory: Callable[[], Embedder]) -> None:
    """Make ``load_embedder(name)`` return ``factory()`` (used by tests and plugins)."""
    _registry[name] = factory
    _forget(name)


def unregister_embedder(name: str) -> None:
    """Undo ``register_embedder`` (a test's fake model must not outlive the test)."""
    _registry.pop(name, None)
    _forget(name)


def _forget(name: str) -> None:
    with _cache_lock:
        for key in [key for key in _cache if key[0] == name]:
            del _cache[key]


def backend_choice(recorded: str) -> str | None:
    """The ``--backend`` choice that gives vectors like those of a recorded backend
    (None for one this version no longer has, such as the earlier "onnx-int8")."""
    if recorded == "torch":
        return "torch"
    if recorded.startswith("openvino-") and recorded.removeprefix("openvino-") in PRECISIONS:
        return "openvino"
    return None


def resolve_backend(name: str | None, backend: str | None = None, recorded: str | None = None) -> str:
    """The backend an index of model ``name`` records: "openvino-int8", "openvino-fp32"
    or "torch" ("" for registered embedders).

    ``backend`` ("openvino"/"torch", or a recorded name such as "openvino-fp32")
    is the caller's choice, else VRAAGBAAK_BACKEND, else what the index already
    records (if this version still has it), else OpenVINO for the bundled model
    (the only one exported) and torch for any other. OpenVINO's precision is the
    recorded one when the index has one (its vectors stay alike), else this
    processor's (``cpu.openvino_precision``); VRAAGBAAK_PRECISION overrides both.
    """
    name = name or DEFAULT_MODEL
    if name in _registry:  # a plugin's or test's embedder states its own (unknown until it is made)
        return recorded or ""
    choice = backend or os.environ.get("VRAAGBAAK_BACKEND") or None
    if choice is not None and backend_choice(choice) == "openvino":  # a recorded name: that precision
        choice, recorded = "openvino", choice
    if choice is None and recorded and backend_choice(recorded):
        choice = backend_choice(recorded)
    choice = choice or ("openvino" if name == DEFAULT_MODEL else "torch")
    if choice not in BACKENDS:
        raise VraagbaakError(messages.unknown_backend(choice, BACKENDS))
    if choice == "openvino" and name != DEFAULT_MODEL:
        raise VraagbaakError(messages.openvino_bundled_only(name))
    if choice == "torch":
        return "torch"
    kept = recorded.removeprefix("openvino-") if recorded and backend_choice(recorded) == "openvino" else None
    precision = openvino_precision() if os.environ.get(PRECISION_ENV, "").strip() or kept is None else kept
    return f"openvino-{precision}"


def load_embedder(name: str | None = None, model_dir: str | Path | None = None, backend: str | None = None) -> Embedder:
    """The embedder called ``name`` (default: the bundled e5-small), loaded once per process.

    ``name`` is a registered name, the bundled model's name, or any
    sentence-transformers model folder (or a name already in the local cache);
    ``backend`` is "openvino", "torch" or a recorded backend ("openvino-int8",
    "openvino-fp32"), see ``resolve_backend``.
    """
    name = name or DEFAULT_MODEL
    recorded = resolve_backend(name, backend)
    key = (name, str(model_dir or "") if name == DEFAULT_MODEL else "", recorded)  # model_dir is only the bundled model's
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        if name in _registry:
            embedder = _registry[name]()
        elif name == DEFAULT_MODEL:
            folder = ensure_bundled_model(Path(model_dir) if model_dir else None)
            if recorded.startswith("openvino-"):
                from .openvino_model import OpenVinoEmbedder, ensure_openvino_model

                embedder = OpenVinoEmbedder(name, ensure_openvino_model(folder, recorded.removeprefix("openvino-"), progress=_say))
            else:
                embedder = SentenceTransformerEmbedder(name, str(folder))
        else:
            embedder = SentenceTransformerEmbedder(name, name)
        _cache[key] = embedder
        return embedder


def can_pool_sentences(embedder: Embedder) -> bool:
    """Does this embedder give token states whose mean is its passage vector, so that
    sentence vectors can come from their passage's pass (``embed_with_sentences``)?"""
    return callable(getattr(embedder, "token_states", None)) and getattr(embedder, "mean_pooled", True)


def sentence_vectors(name: str | None, backend: str) -> str | None:
    """How an index of model ``name`` on ``backend`` gets its sentence vectors
    (``StoreConfig.sentences``), known without loading the model: "late" for the
    bundled model (both runtimes give token states); None for any other, whose
    embedder says so once loaded (``can_pool_sentences``)."""
    return "late" if (name or DEFAULT_MODEL) == DEFAULT_MODEL and backend_choice(backend) else None


def embed_with_sentences(embedder: Embedder, texts: list[str], spans: list[list[tuple[int, int]]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each passage text's vector, and the vectors of its sentences (character
    ``spans`` in the text), from one pass of the model over the passage.

    The passage vector is the mean of all its token states, exactly what
    ``embed_passages`` gives. A sentence's vector is the mean of the states of
    the tokens within its span ("late chunking": Günther et al., 2024, "Late
    Chunking: Contextual Chunk Embeddings Using Long-Context Embedding Models"),
    so a sentence is not embedded again on its own, which took about 6 of
    every 7 texts a build embedded. A sentence the model did not see (past
    ``max_tokens``) is embedded alone, as before. Whether these vectors choose
    answers and rank passages as well as separately embedded sentences:
    BENCHMARKS.md, Round 4.
    """
    out: list = [None] * len(texts)
    alone = []  # (text, sentence) the model never saw
    for i, states, token_spans in embedder.token_states(texts):
        sentences = np.zeros((len(spans[i]), embedder.dimension), np.float32)
        for j, (a, b) in enumerate(spans[i]):
            inside = (token_spans[:, 0] < b) & (token_spans[:, 1] > a)
            if inside.any():
                sentences[j] = states[inside].mean(axis=0)
            else:
                alone.append((i, j))
        out[i] = (_unit(states.mean(axis=0, keepdims=True))[0], _unit(sentences))
    if alone:
        vectors = embedder.embed_passages([texts[i][slice(*spans[i][j])] for i, j in alone])
        for (i, j), vector in zip(alone, vectors):
            out[i][1][j] = vector
    return out


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


# Texts an index records the vectors of when it is made (``StoreConfig.probes``):
# questions of about 10, 20 and 35 tokens and two passages (written for this).
# Questions embedded another way than the index's texts (another precision or
# runtime of the same model) are searched only if their vectors of these texts
# agree with the recorded ones (``probe_agreement``).
PROBES = (
    ("query", "Wat is preventie?"),
    ("query", "Welke termijn geldt voor bezwaar tegen een besluit van het college?"),
    ("query", "Mag de gemeente op grond van artikel 7:1, eerste lid, de aanvraag voor bijzondere bijstand weigeren als het vermogen te hoog is?"),
    ("document", "Het wijkteam helpt bewoners met vragen over zorg, geld en wonen. U kunt zonder afspraak langskomen op het spreekuur."),
    ("document", "De aanvraag moet binnen zes weken na het besluit worden ingediend. Daarna neemt het college geen aanvragen meer in behandeling."),
)
# The least cosine, over the probes, at which two ways of embedding count as one:
# the bound the fidelity tests hold int8 questions to against fp32
# (tests/test_openvino_model.py, LONE_MIN_COSINE; measured 0.993-0.999 on Zen 4).
AGREEMENT = 0.99


def probe_vectors(embedder: Embedder) -> dict:
    """The probe texts and their vectors (float16, base64), as an index records them."""
    import base64

    vectors = _embed_probes(embedder, PROBES)
    return {"texts": [list(p) for p in PROBES], "vectors": base64.b64encode(vectors.astype("<f2").tobytes()).decode("ascii")}


def probe_agreement(embedder: Embedder, probes: dict) -> float:
    """The least cosine between ``embedder``'s vectors of an index's probe texts and the recorded ones (-1: not comparable)."""
    import base64

    texts = [tuple(t) for t in probes.get("texts", [])]
    try:
        recorded = np.frombuffer(base64.b64decode(probes["vectors"]), "<f2").astype(np.float32).reshape(len(texts), -1)
    except (KeyError, ValueError, TypeError):
        return -1.0
    if not texts or recorded.shape[1] != embedder.dimension:
        return -1.0
    recorded /= np.maximum(np.linalg.norm(recorded, axis=1, keepdims=True), 1e-12)
    return float(np.sum(_embed_probes(embedder, texts) * recorded, axis=1).min())


def _embed_probes(embedder: Embedder, texts) -> np.ndarray:
    vectors = np.zeros((len(texts), embedder.dimension), np.float32)
    for kind, embed in (("query", embedder.embed_queries), ("document", embedder.embed_passages)):
        rows = [i for i, (k, _) in enumerate(texts) if k == kind]
        if rows:
            vectors[rows] = embed([texts[i][1] for i in rows])
    return vectors


def model_available(name: str, model_dir: str | Path | None = None) -> bool:
    """Can ``load_embedder(name)`` find this model here, without loading it? (registered,
    the bundled one, a model folder, or a name in the local Hugging Face cache)."""
    if name in _registry or name == DEFAULT_MODEL or Path(name).is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # noqa: BLE001 - not a valid repository name: not in the cache either
        return False


def _say(message: str) -> None:
    # At WARNING: a one-time wait the user should see, on stderr through the entry points' logging set-up
    # (cli.setup_logging), and through Python's last-resort handler where nothing set logging up
    logging.getLogger(__name__).warning(message)
