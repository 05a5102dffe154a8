import shutil
from pathlib import Path

import pytest

from fake_embedder import FakeEmbedder
from vraagbaak import embeddings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture
def fake():
    """Register a fresh fake model under the name "fake" and return it."""
    instance = FakeEmbedder()
    embeddings.register_embedder("fake", lambda: instance)
    embeddings._cache.clear()
    yield instance
    embeddings._cache.clear()


@pytest.fixture
def corpus(tmp_path):
    """A copy of the project's five default articles."""
    folder = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", folder)
    return folder


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: uses the real bundled model (slower)")
    config.addinivalue_line("markers", "browser: drives headless Chromium")
