"""The bundled model as OpenVINO (int8, or fp32), and an embedder that runs it without torch.

Which of the two a machine uses is ``cpu.openvino_precision``'s choice: int8
where the processor has 8-bit dot products (VNNI, AMX), fp32 where it has not
(there the int8 kernels emulate them and ran slower than fp32; BENCHMARKS.md,
Round 4). Each is made once, beside the converted sentence-transformers
folder; the int8 model in three steps (the fp32 one skips the second):

1. the BERT encoder is exported to ONNX with ``torch.onnx.export``, taking
   the word vectors as its input: the word-embedding table (250,037 × 384)
   is saved beside it as float16 and looked up in numpy (below, why);
2. OpenVINO reads the ONNX graph and NNCF quantises it statically to int8
   (weights and activations; ``nncf.ModelType.TRANSFORMER``, which keeps
   softmax and layer norms in float and applies SmoothQuant), calibrated on
   the Dutch texts in ``calibration_nl.txt`` that ship with the package
   (written for this; no text of the evaluation sets), never on a user's
   corpus, so every machine makes the same model;
3. it is saved as OpenVINO IR (``model.xml`` + ``model.bin``).

Why OpenVINO + NNCF and not onnxruntime's dynamic int8 (Vraagbaak's default
until it measured slower): with static int8 the activations need no
quantising at run time and OpenVINO's kernels use VNNI (and AMX where the CPU
has it) end to end; on the FAQ texts it embedded 1.8× as fast as
onnxruntime's int8 (340 against 187 texts/s) and its vectors lie closer to
fp32 (BENCHMARKS.md). sentence-transformers' own OpenVINO backend
would need optimum-intel and torch at search time; this module needs neither.

Why the embedding table stays outside the graph: OpenVINO's CPU plugin
expands a quantised table in a statically quantised graph to float32 when it
compiles the model (640 MB resident for this vocabulary); a memory-mapped
float16 table costs only the pages of the rows a text uses.

Running it needs only OpenVINO, the ``tokenizers`` library and numpy, so
loading an index and answering a question never imports torch. The embedder
tokenizes with the model's own ``tokenizer.json`` (the file sentence-
transformers uses), adds the e5 prompts recorded in the model folder,
mean-pools the last hidden states over the attention mask and normalises, as
the sentence-transformers pipeline of the folder does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from . import messages

__all__ = ["OpenVinoEmbedder", "compiled_cache", "ensure_openvino_model", "export_openvino", "openvino_folder"]

# Batches of texts of nearly the same token count, at most 2,048 tokens (about
# 11 passages of 700 characters) or 64 texts. Measured on the FAQ corpus (2
# cores): sorting by tokens instead of characters cut padding from 27% to a few
# per cent (290 -> 340 texts/s); 2,048 to 8,192 tokens a batch ran at the same
# speed, larger batches only cost memory (840 -> 1,140 MB).
BATCH_TOKENS = 2048
BATCH_MAX = 64
PAD_TO = 8
EXPORT_VERSION = 1  # bump when the export changes, so an old export is made again
CALIBRATION = Path(__file__).with_name("calibration_nl.txt")
_MARKER = "vraagbaak-int8.json"
# Every new input shape (texts a batch × tokens) makes OpenVINO and oneDNN build
# kernels they keep; unbounded (their defaults, 5,000 and 1,024) that took a
# FAQ-corpus build to 2.2 GB. 128 of each: 1.1 GB at the same speed (BENCHMARKS.md).
_SHAPE_CACHE = 128
# The throughput model keeps a shape cache per stream: a quarter each held a FAQ build's
# embedding at 1,020 MB peak, against 1,210 MB at the full 128 (853 MB with one stream).
_STREAM_SHARE = 4
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(_SHAPE_CACHE))  # read when oneDNN builds its first kernel
_TABLE = "word_embeddings.f16.npy"
# The load-time check of _lone_texts_are_faithful: questions of about 10, 20 and
# 35 tokens, the range of real questions (the legal ones of issue 28: 10-40).
_PROBE_QUESTIONS = (
    "Wat is preventie?",
    "Welke termijn geldt voor bezwaar tegen een besluit van het college?",
    "Mag de gemeente op grond van artikel 7:1, eerste lid, de aanvraag voor bijzondere bijstand weigeren als het vermogen te hoog is?",
)
# Lone and paired vectors of one text: bit-identical where the kernels do not
# depend on the batch (cosine 1.0 up to rounding); 0.97 on the AMX host.
_SAME_VECTOR = 0.9999
log = logging.getLogger(__name__)


def openvino_folder(model_folder: Path, precision: str = "int8") -> Path:
    """Where the OpenVINO model of ``model_folder`` in ``precision`` ("int8", "fp32") lives: beside it."""
    return model_folder.with_name(f"{model_folder.name}-openvino-{precision}")


def _is_complete(folder: Path) -> bool:
    try:
        return json.loads((folder / _MARKER).read_text())["export_version"] == EXPORT_VERSION
    except (OSError, ValueError, KeyError):
        return False


def _precision_of(folder: Path) -> str:
    try:
        return json.loads((folder / _MARKER).read_text()).get("precision", "int8")  # exports before issue 39 were all int8
    except (OSError, ValueError):
        return "int8"


# ------------------------------------------------------------------ export


def export_openvino(model_folder: Path, target: Path, precision: str = "int8") -> None:
    """Export the encoder of a sentence-transformers folder to OpenVINO IR in ``target``:
    statically quantised to int8, or as it is (fp32) for CPUs without VNNI (``cpu.openvino_precision``)."""
    import openvino as ov

    onnx_file = target / "encoder-fp32.onnx"
    settings = _export_fp32(model_folder, onnx_file, target / _TABLE)
    shutil.copy(model_folder / "tokenizer.json", target / "tokenizer.json")
    (target / "vraagbaak-embedder.json").write_text(json.dumps(settings), encoding="utf-8")
    model = ov.Core().read_model(str(onnx_file))
    if precision == "int8":
        model = _quantise(model, OpenVinoEmbedder("calibration", target, compile_model=False).calibration_inputs())
    elif precision != "fp32":
        raise ValueError(f"unknown precision {precision!r}")
    ov.save_model(model, str(target / "model.xml"), compress_to_fp16=False)
    onnx_file.unlink()
    for path in target.iterdir():  # the folder is shared like the model's (some writers make files private)
        path.chmod(0o644)
    (target / _MARKER).write_text(json.dumps({"export_version": EXPORT_VERSION, "from": str(model_folder), "precision": precision}))


def _export_fp32(model_folder: Path, onnx_file: Path, table_file: Path) -> dict:
    """The fp32 encoder as ONNX (word vectors in, last hidden states out), and its word table as float16."""
    import warnings

    from .cpu import quiet_torch_threads

    quiet_torch_threads()
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    class Encoder(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, inputs_embeds, attention_mask):
            return self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

    hf_logging.disable_progress_bar()
    # The tracer notes that shape checks become constants (right for an encoder
    # whose mask always covers its input) and that indexing becomes several
    # ONNX operators; not for the user. The agreement with the torch model is
    # what tests/test_openvino_model.py checks.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message="Exporting aten::index")
    # Eager attention exports as plain MatMul/Softmax nodes that int8 quantisation
    # covers; SDPA measured slower after quantisation (BENCHMARKS.md).
    bert = AutoModel.from_pretrained(str(model_folder), local_files_only=True, attn_implementation="eager").eval()
    dimension = bert.config.hidden_size
    np.save(table_file, bert.get_input_embeddings().weight.detach().numpy().astype(np.float16))
    example = (torch.zeros(2, 16, dimension), torch.ones(2, 16, dtype=torch.long))
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            Encoder(bert), example, str(onnx_file), input_names=["inputs_embeds", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"inputs_embeds": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=17, dynamo=False,
        )
    st_config = json.loads((model_folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    # max_tokens: what the conversion gave sentence-transformers as max_seq_length
    return {"prompts": st_config.get("prompts", {}), "max_tokens": bert.config.max_position_embeddings, "dimension": dimension}


def _quantise(model, calibration: list[dict]):
    """Static int8 of weights and activations, ranges taken from the calibration batches."""
    import contextlib
    import sys

    # NNCF reports its use to Google Analytics unless an OpenVINO consent file
    # says no or NNCF_CI is set (it gates nothing else: nncf/telemetry/wrapper.py).
    # Vraagbaak sends nothing anywhere, so it sets it before NNCF is imported.
    os.environ.setdefault("NNCF_CI", "1")
    import nncf

    nncf.set_log_level(logging.ERROR)
    with contextlib.redirect_stdout(sys.stderr):  # its progress bars: not into a command's --json output
        return nncf.quantize(model, nncf.Dataset(calibration), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(calibration))


def ensure_openvino_model(model_folder: Path, precision: str = "int8", progress=None) -> Path:
    """The OpenVINO folder for ``model_folder`` in ``precision``, exported once under a file lock.

    The export goes to a temporary sibling that is renamed into place when
    complete, so a killed export leaves nothing that looks finished.
    """
    from filelock import FileLock

    folder = openvino_folder(model_folder, precision)
    if _is_complete(folder):
        return folder
    with FileLock(str(folder) + ".lock"):
        if _is_complete(folder):  # another process finished while we waited
            return folder
        for stale in folder.parent.glob(folder.name + ".tmp-*"):  # a killed export's; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        if progress:
            progress(messages.making_openvino_model(precision, folder))
        staging = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
        try:
            export_openvino(model_folder, staging, precision)
            if folder.exists():  # an incomplete leftover
                shutil.rmtree(folder)
            staging.chmod(0o755)  # mkdtemp makes it private; the model folder beside it is not
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


# ------------------------------------------------------------------ compiled-model cache


def compiled_cache(folder: Path, openvino_version: str, flags: frozenset[str] | None = None) -> Path | None:
    """Where OpenVINO keeps ``folder``'s model compiled for this processor: ``compiled/KEY``
    beside the model, KEY naming the OpenVINO version and the CPU's feature flags (a
    model folder on a share used by other processors, or kept over an OpenVINO
    upgrade, gets an entry per each), owner-only (0700). None where the model
    folder cannot be written (a read-only install): compiled at every start.

    Measured (BENCHMARKS.md): the int8 model imports from it in 0.23-0.31 s
    against 0.62-0.70 s to compile, for 23 MB on disk per key. OpenVINO names
    each entry by the model, its compile settings and its own version, checks an
    entry when it reads it, and compiles anew (and rewrites it) past a damaged one.
    """
    from .cpu import cpu_flags

    text = "\n".join([openvino_version, platform.machine(), " ".join(sorted(cpu_flags() if flags is None else flags))])
    target = folder / "compiled" / hashlib.sha256(text.encode()).hexdigest()[:16]
    if not os.access(folder, os.W_OK | os.X_OK):
        return None
    try:
        for made in (target.parent, target):
            made.mkdir(mode=0o700, exist_ok=True)
            made.chmod(0o700)  # also one an earlier version made with the umask's mode
        for old in target.parent.glob("*.blob"):  # the one-folder layout before the key: never read again
            old.unlink()
    except OSError:
        return None
    return target if os.access(target, os.R_OK | os.W_OK | os.X_OK) else None


# ------------------------------------------------------------------ run


class OpenVinoEmbedder:
    """The ``Embedder`` of an exported folder: OpenVINO + tokenizers + numpy, no torch."""

    def __init__(self, name: str, folder: Path, compile_model: bool = True):
        from tokenizers import Tokenizer

        settings = json.loads((folder / "vraagbaak-embedder.json").read_text(encoding="utf-8"))
        self.name = name
        self.precision = _precision_of(folder)
        self.backend = f"openvino-{self.precision}"  # what an index records: int8 and fp32 vectors differ slightly
        self.dimension = int(settings["dimension"])
        self.prompts = {k: v for k, v in settings["prompts"].items() if k in ("query", "document")}
        self.max_tokens = int(settings["max_tokens"])
        # One tokenizer, without truncation or padding (each instance of this
        # 250,000-piece tokenizer holds about 280 MB): counting needs the full
        # length, and _token_ids truncates and _inputs pads by hand.
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        pad = self._tokenizer.token_to_id("<pad>")
        self._pad = pad if pad is not None else 0
        self._table = np.load(folder / _TABLE, mmap_mode="r")
        self._lock = threading.Lock()  # one request; one batch at a time uses every core anyway
        self._queue_lock = threading.Lock()  # one caller at a time feeds the streams (_run_batches)
        self._queue = None  # the streams' requests, made for the first call with several batches
        self._queue_out: np.ndarray | None = None  # where their callbacks write (under _queue_lock)
        self._pair_lone_texts = False
        self._folder = folder
        self._cache: Path | None = None  # OpenVINO's compiled-model cache (``compiled_cache``), when it has one
        if compile_model:
            import openvino as ov

            self._core = ov.Core()
            self._cache = compiled_cache(folder, ov.get_version())
            if self._cache is not None:
                self._core.set_property({"CACHE_DIR": str(self._cache)})
            # LATENCY: every core on one request, for a question (a lone text).
            self._request = self._compile("LATENCY").create_infer_request()
            self._pair_lone_texts = not self._lone_texts_are_faithful()

    def _compile(self, hint: str):
        """The model compiled for ``hint``: "LATENCY" (one request on every core) or
        "THROUGHPUT" (a stream of requests per core or two; ``_run_batches``).

        f32: on CPUs with native bf16 (AMX, AVX512_BF16) OpenVINO's CPU plugin
        runs every operation that is not int8 in bf16 unless told otherwise
        (its "Precision Control" guide; NNCF forces f32 for its own calibration
        runs, nncf/openvino/engine.py, for the same reason). The quantised
        model was calibrated and measured in f32; AVX2/VNNI-only CPUs already
        run f32, so this changes nothing there (measured, BENCHMARKS.md).
        """
        config = {"PERFORMANCE_HINT": hint, "CPU_RUNTIME_CACHE_CAPACITY": _SHAPE_CACHE // _STREAM_SHARE if hint == "THROUGHPUT" else _SHAPE_CACHE,
                  "INFERENCE_PRECISION_HINT": "f32"}
        try:
            return self._core.compile_model(str(self._folder / "model.xml"), "CPU", config)
        except RuntimeError:
            if self._cache is None:
                raise
            # OpenVINO compiles anew past a damaged cache entry itself; this is for what it may still refuse
            log.warning("OpenVINO's compiled-model cache %s failed; compiling without it", self._cache, exc_info=True)
            self._cache = None
            self._core.set_property({"CACHE_DIR": ""})
            return self._core.compile_model(str(self._folder / "model.xml"), "CPU", config)

    # -- the Embedder interface

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts), self.prompts.get("query", ""))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts), self.prompts.get("document", ""))

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for a passage: document prompt and special tokens included."""
        return len(self._tokenizer.encode(self.prompts.get("document", "") + text).ids)

    # -- stages

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, cut to ``max_tokens`` as the tokenizer's own
        truncation does (the first tokens, then the closing special token)."""
        sequences = [e.ids for e in self._tokenizer.encode_batch(texts)]
        return [s if len(s) <= self.max_tokens else s[: self.max_tokens - 1] + s[-1:] for s in sequences]

    @staticmethod
    def _batches(lengths: list[int]):
        """Indices in batches of texts of nearly the same length (least padding):
        shortest first, at most ``BATCH_TOKENS`` padded tokens or ``BATCH_MAX`` texts."""
        batch: list[int] = []
        for i in sorted(range(len(lengths)), key=lengths.__getitem__):
            if batch and ((len(batch) + 1) * _width(lengths[i]) > BATCH_TOKENS or len(batch) >= BATCH_MAX):
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def _inputs(self, sequences: list[list[int]], width: int | None = None) -> dict:
        """The model's inputs for a batch: word vectors (from the table) and the attention mask."""
        width = width or _width(max(map(len, sequences)), len(sequences))
        ids = np.full((len(sequences), width), self._pad, np.int64)
        mask = np.zeros((len(sequences), width), np.int64)
        for row, s in enumerate(sequences):
            ids[row, : len(s)] = s
            mask[row, : len(s)] = 1
        return {"inputs_embeds": self._table[ids].astype(np.float32), "attention_mask": mask}

    @staticmethod
    def _pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean over the real tokens, then unit length (sentence-transformers' Pooling + Normalize)."""
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def calibration_inputs(self) -> list[dict]:
        """Model inputs of the calibration texts as a build and a search embed them,
        one text each (padding would widen the measured ranges): questions with the
        query prompt; passages, and each sentence of a passage, with the document prompt."""
        from .chunking import split_sentences

        texts = []
        for line in filter(None, map(str.strip, CALIBRATION.read_text(encoding="utf-8").splitlines())):
            if line.endswith("?"):
                texts.append(self.prompts.get("query", "") + line)
                continue
            sentences = split_sentences(line)
            for a, b in [(0, len(line))] + (sentences if len(sentences) > 1 else []):
                texts.append(self.prompts.get("document", "") + line[a:b])
        return [self._inputs([ids], width=len(ids)) for ids in self._token_ids(texts)]

    def _embed(self, texts: list[str], prompt: str) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), np.float32)
        sequences = self._token_ids([prompt + text for text in texts])
        batches = list(self._batches([len(s) for s in sequences]))
        if len(batches) > 1:  # a build's texts: on the streams
            self._run_batches(sequences, batches, out)
            return out
        for batch in batches:
            out[batch] = self._run([sequences[i] for i in batch])
        return out

    def _run_batches(self, sequences: list[list[int]], batches: list[list[int]], out: np.ndarray) -> None:
        """Unit vectors of many batches into ``out``, on a model compiled for throughput:
        a stream per core or two, each with its own request, fed as they finish.

        Measured on the FAQ texts under the other helpers' load (BENCHMARKS.md,
        Round 4): int8 on the AVX-512 VNNI host 80 against 45 texts/s on the
        one-request model, fp32 under the AVX2 limit 31 against 22. One request
        on both cores waits for the slower core at every layer; a stream each
        does not. A question still runs on the one-request model (its latency).
        """
        import openvino as ov

        with self._queue_lock:
            if self._queue is None:
                self._queue = ov.AsyncInferQueue(self._compile("THROUGHPUT"), 0)  # 0: as many requests as OpenVINO finds best

                def pooled(request, userdata):  # on OpenVINO's thread, while the request's output is still its own
                    rows, mask = userdata
                    out_ = self._queue_out
                    out_[rows] = self._pool(request.get_output_tensor(0).data, mask)[: len(rows)]

                self._queue.set_callback(pooled)
            self._queue_out = out
            try:
                for batch in batches:
                    pair = self._pair_lone_texts and len(batch) == 1
                    inputs = self._inputs([sequences[batch[0]]] * 2, width=_width(len(sequences[batch[0]]), 1)) if pair \
                        else self._inputs([sequences[i] for i in batch])
                    self._queue.start_async(inputs, (batch, inputs["attention_mask"]))
                self._queue.wait_all()
            finally:
                self._queue_out = None

    def _run(self, sequences: list[list[int]], pair_lone: bool | None = None, pool: bool = True) -> np.ndarray:
        """Unit vectors of one batch (``pool=False``: its last hidden states, a copy);
        a lone text runs as a pair where this CPU needs it (``_lone_texts_are_faithful``)."""
        pair = (self._pair_lone_texts if pair_lone is None else pair_lone) and len(sequences) == 1
        # a pair keeps the lone text's padded width: the same shapes, and kernels, as before
        inputs = self._inputs(sequences * 2, width=_width(len(sequences[0]), 1)) if pair else self._inputs(sequences)
        with self._lock:
            hidden = self._request.infer(inputs)[0]
            if not pool:
                return np.array(hidden[: len(sequences)])  # copied before the next run reuses the output
            return self._pool(hidden, inputs["attention_mask"])[: len(sequences)]  # pooled before the next run reuses the output

    def token_states(self, texts: list[str]):
        """For each passage text, as (its index, states, spans), in batches of similar
        length (so not in order): the model's last hidden states of its tokens
        [tokens × dimension], the very states ``embed_passages`` mean-pools, and
        each token's character span in the text [tokens × 2], (-1, -1) for the
        prompt's and the special tokens. A text cut at ``max_tokens`` has states
        for the tokens the model saw."""
        prompt = self.prompts.get("document", "")
        sequences, spans = [], []
        for encoding in self._tokenizer.encode_batch([prompt + text for text in texts]):
            ids, offsets = encoding.ids, np.array(encoding.offsets, np.int64).reshape(-1, 2) - len(prompt)
            offsets[:, 0] = np.maximum(offsets[:, 0], 0)  # a word's token may start at the space after the prompt
            offsets[np.array(encoding.special_tokens_mask, bool) | (offsets[:, 1] <= 0)] = -1
            if len(ids) > self.max_tokens:  # cut as _token_ids cuts: the first tokens, then the closing special token
                ids, offsets = ids[: self.max_tokens - 1] + ids[-1:], np.vstack([offsets[: self.max_tokens - 1], offsets[-1:]])
            sequences.append(ids)
            spans.append(offsets)
        for batch in self._batches([len(s) for s in sequences]):
            hidden = self._run([sequences[i] for i in batch], pool=False)
            for row, i in enumerate(batch):
                yield i, hidden[row, : len(sequences[i])], spans[i]

    def _lone_texts_are_faithful(self) -> bool:
        """Does a text embedded alone get the vector it gets in a batch, on this CPU?

        On Intel CPUs with AMX, OpenVINO's int8 kernels gave a text run as a
        batch of one a vector up to 0.08 cosine away from fp32, while the same
        text in a batch of two (or more) stayed within 0.004 (issue 28,
        measured on the reporter's Xeon; not reproducible on AVX2/VNNI-only
        CPUs, where the two are bit-identical). Which kernels a CPU gets is
        OpenVINO's and oneDNN's choice, so the embedder asks the CPU instead of
        guessing from its flags: three questions of different lengths, each
        alone and in a pair. Where they differ, lone texts (every search's
        question) run as a pair of two copies from then on: twice the work of
        a question, and the same vector as in a batch. It costs about 0.1 s
        once, at load.
        """
        sequences = self._token_ids([self.prompts.get("query", "") + q for q in _PROBE_QUESTIONS])
        for sequence in sequences:
            alone = self._run([sequence], pair_lone=False)[0]
            paired = self._run([sequence], pair_lone=True)[0]
            if float(alone @ paired) < _SAME_VECTOR:
                log.info("OpenVINO gives a lone text another vector on this CPU; lone texts run as pairs")
                return False
        return True


def _width(tokens: int, texts: int = 2) -> int:
    """The padded width of a batch of ``texts`` whose longest has ``tokens`` tokens.

    OpenVINO builds kernels for every new input shape (about 10 ms; it keeps
    the last 128), so widths are rounded up to a multiple of PAD_TO: a lone
    text (a question) always, so questions of 9 to 16 tokens share kernels;
    batches of short texts (sentences in a build) not, because there padding
    would be a large share of the work (13% of the FAQ build's tokens against 6%).
    """
    return tokens if texts > 1 and tokens <= 32 else -(-tokens // PAD_TO) * PAD_TO
