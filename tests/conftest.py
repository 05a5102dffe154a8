import os
import shutil
from pathlib import Path

import pytest

from fake_embedder import FakeEmbedder
from vraagbaak import embeddings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture
def fake():
    """A fresh fake model registered under the name "fake" for one test, and unregistered after it."""
    instance = FakeEmbedder()
    embeddings.register_embedder("fake", lambda: instance)
    try:
        yield instance
    finally:
        embeddings.unregister_embedder("fake")


@pytest.fixture(autouse=True)
def no_vraagbaak_environment(monkeypatch):
    """A developer's VRAAGBAAK_* settings (backend, model folder, Milvus token) must not change what a test sees."""
    for name in [name for name in os.environ if name.startswith("VRAAGBAAK_")]:
        monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def ocr_cache(tmp_path_factory, monkeypatch):
    """Each test its own OCR cache: none reads another's pages or writes into the user's cache folder."""
    folder = tmp_path_factory.mktemp("ocr-cache")
    monkeypatch.setenv("VRAAGBAAK_OCR_CACHE", str(folder))
    return folder


@pytest.fixture
def corpus(tmp_path):
    """A copy of the project's five default articles."""
    folder = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", folder)
    return folder


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: uses the real bundled model (slower)")
    config.addinivalue_line("markers", "browser: drives headless Chromium")
