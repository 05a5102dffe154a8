"""The bundled model as int8 ONNX, and an embedder that runs it without torch.

Made once, beside the converted sentence-transformers folder: the BERT
encoder is exported with ``torch.onnx.export`` and its weights quantised to
8 bits with ``onnxruntime.quantization.quantize_dynamic`` (int8 matrix
products use AVX-512 VNNI/AMX here). sentence-transformers' own ONNX backend
would do the same through ``optimum``, but optimum-onnx 0.1 requires
transformers < 4.58 and this project pins transformers 5.23, so the export is
written here (about 30 lines).

Running it needs only onnxruntime, the ``tokenizers`` library and numpy, so
loading an index and answering a question never imports torch. The embedder
tokenizes with the model's own ``tokenizer.json`` (the same file
sentence-transformers uses), adds the e5 prompts recorded in the model folder,
mean-pools the last hidden states over the attention mask and normalises, as
the sentence-transformers pipeline of the folder does.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

__all__ = ["BACKENDS", "OnnxEmbedder", "ensure_onnx_model", "onnx_folder"]

BACKENDS = ("onnx", "torch")
# Measured on FAQ texts (2 cores): 16 passages of ~700 characters a batch ran
# fastest (57/s; 45/s at 32), sentences fastest at 64 a batch (613/s; 545/s at 16).
BATCH_CHARS = 16 * 700
BATCH_MAX = 64
ONNX_VERSION = 4  # bump when the export changes, so an old export is made again
_MARKER = "vraagbaak-onnx.json"


def onnx_folder(model_folder: Path) -> Path:
    return model_folder.with_name(model_folder.name + "-onnx-int8")


def _is_complete(folder: Path) -> bool:
    try:
        return json.loads((folder / _MARKER).read_text())["onnx_version"] == ONNX_VERSION
    except (OSError, ValueError, KeyError):
        return False


def export_int8(model_folder: Path, target: Path) -> None:
    """Export the encoder of a sentence-transformers folder to ``target/model.onnx`` (int8 weights)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class Encoder(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    import logging
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # The tracer notes that shape checks become constants (right for an encoder
    # whose mask always covers its input) and onnxruntime suggests a
    # pre-processing step; neither is for the user. The agreement with the
    # torch model is what tests/test_onnx_model.py checks.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message="Exporting aten::index")
    logging.getLogger().setLevel(logging.ERROR)
    # Eager attention exports as plain MatMul/Softmax nodes that int8 quantisation
    # covers; the SDPA export measured 23% slower after quantisation (BENCHMARKS.md).
    bert = AutoModel.from_pretrained(str(model_folder), local_files_only=True, attn_implementation="eager").eval()
    example = (torch.ones(2, 16, dtype=torch.long), torch.ones(2, 16, dtype=torch.long))
    fp32 = target / "model-fp32.onnx"
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            Encoder(bert), example, str(fp32), input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"], dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=17, dynamo=False,
        )
    # Only the weight matrix products: int8 products of two activations (attention
    # scores) and int8 embeddings measured worse on the seed questions
    # (hybrid mrr@10 0.904 against 0.925 in fp32; 0.925 with these options).
    quantize_dynamic(
        str(fp32), str(target / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True,
        op_types_to_quantize=["MatMul"], extra_options={"MatMulConstBOnly": True},
    )
    fp32.unlink()
    _move_weights_beside_graph(target / "model.onnx")
    shutil.copy(model_folder / "tokenizer.json", target / "tokenizer.json")
    st_config = json.loads((model_folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    max_tokens = bert.config.max_position_embeddings  # what the conversion gave sentence-transformers as max_seq_length
    settings = {"prompts": st_config.get("prompts", {}), "max_tokens": max_tokens, "dimension": bert.config.hidden_size}
    (target / "vraagbaak-embedder.json").write_text(json.dumps(settings), encoding="utf-8")
    (target / _MARKER).write_text(json.dumps({"onnx_version": ONNX_VERSION, "from": str(model_folder)}))


def _move_weights_beside_graph(path: Path) -> None:
    """Store the weights in ``model.onnx.data`` beside the graph.

    onnxruntime memory-maps external weights instead of copying them out of
    the parsed protobuf: loading the session then peaks at 81 MB instead of
    813 MB, and the serving process stays under 1 GB (BENCHMARKS.md).
    """
    import onnx

    model = onnx.load(str(path))
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=path.name + ".data", size_threshold=1024)
    (path.parent / (path.name + ".data")).chmod(0o644)  # onnx writes it private; the folder is shared like the model's


def ensure_onnx_model(model_folder: Path, progress=None) -> Path:
    """The int8 ONNX folder for ``model_folder``, exported once under a file lock.

    The export goes to a temporary sibling that is renamed into place when
    complete, so a killed export leaves nothing that looks finished.
    """
    from filelock import FileLock

    folder = onnx_folder(model_folder)
    if _is_complete(folder):
        return folder
    with FileLock(str(folder) + ".lock"):
        if _is_complete(folder):  # another process finished while we waited
            return folder
        for stale in folder.parent.glob(folder.name + ".tmp-*"):  # a killed export's; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        if progress:
            progress(f"Exporting the model once to int8 ONNX in {folder} (about 30 s)…")
        staging = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
        try:
            export_int8(model_folder, staging)
            if folder.exists():  # an incomplete leftover
                shutil.rmtree(folder)
            staging.chmod(0o755)  # mkdtemp makes it private; the model folder beside it is not
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


class OnnxEmbedder:
    """The ``Embedder`` of an exported folder: onnxruntime + tokenizers + numpy, no torch."""

    backend = "onnx-int8"

    def __init__(self, name: str, folder: Path, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        settings = json.loads((folder / "vraagbaak-embedder.json").read_text(encoding="utf-8"))
        self.name = name
        self.dimension = int(settings["dimension"])
        self.prompts = {k: v for k, v in settings["prompts"].items() if k in ("query", "document")}
        self.max_tokens = int(settings["max_tokens"])
        # One tokenizer, without truncation or padding (each instance of this
        # 250,000-piece tokenizer holds about 280 MB): counting needs the full
        # length, and _embed truncates and pads by hand.
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        pad = self._tokenizer.token_to_id("<pad>")
        self._pad = pad if pad is not None else 0
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()  # one run at a time uses every core anyway

    def _batches(self, texts: list[str]):
        """Indices in batches of similar length: shortest first (least padding),
        at most ``BATCH_CHARS`` characters or ``BATCH_MAX`` texts a batch."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batch, chars = [], 0
        for i in order:
            if batch and (chars + len(texts[i]) > BATCH_CHARS or len(batch) >= BATCH_MAX):
                yield batch
                batch, chars = [], 0
            batch.append(i)
            chars += len(texts[i])
        if batch:
            yield batch

    def _encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, cut to ``max_tokens`` as the tokenizer's
        own truncation does (the first tokens, then the closing special token)."""
        sequences = [e.ids for e in self._tokenizer.encode_batch(texts)]
        sequences = [s if len(s) <= self.max_tokens else s[: self.max_tokens - 1] + s[-1:] for s in sequences]
        width = max(len(s) for s in sequences)
        ids = np.full((len(sequences), width), self._pad, np.int64)
        mask = np.zeros((len(sequences), width), np.int64)
        for row, s in enumerate(sequences):
            ids[row, : len(s)] = s
            mask[row, : len(s)] = 1
        return ids, mask

    def _embed(self, texts: list[str], prompt: str) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), np.float32)
        for batch in self._batches(texts):
            ids, mask = self._encode([prompt + texts[i] for i in batch])
            with self._lock:
                hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            summed = (hidden * mask[:, :, None]).sum(axis=1)
            vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            out[batch] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return out

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts), self.prompts.get("query", ""))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts), self.prompts.get("document", ""))

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for a passage: document prompt and special tokens included."""
        return len(self._tokenizer.encode(self.prompts.get("document", "") + text).ids)
