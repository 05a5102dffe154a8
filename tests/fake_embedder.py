"""A deterministic stand-in for the real model, so unit tests need no weights.

Each word is hashed to one of 256 dimensions (bag of words), and the vector is
normalised: texts that share words are close, which is enough to test ranking
plumbing. It counts what it embeds, so tests can tell what a build did.
"""

import hashlib
import re
import time

import numpy as np

DIM = 256


class FakeEmbedder:
    name = "fake"
    dimension = DIM
    prompts = {"query": "query: ", "document": "passage: "}
    max_tokens = 512
    instances = 0

    def __init__(self, delay: float = 0.0):
        type(self).instances += 1
        self.delay = delay  # seconds per batch, to make builds slow enough to kill
        self.embedded: list[str] = []

    @staticmethod
    def _words(text):
        return re.findall(r"\w+", text.lower())

    def _vector(self, text):
        v = np.zeros(DIM, np.float32)
        for w in self._words(text):
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % DIM] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_queries(self, texts):
        return np.vstack([self._vector(t) for t in texts]).astype(np.float32)

    def embed_passages(self, texts):
        if self.delay:
            time.sleep(self.delay)
        self.embedded.extend(texts)
        return np.vstack([self._vector(t) for t in texts]).astype(np.float32)

    def count_tokens(self, text):
        return len(self._words(text)) + 4


class TokenFakeEmbedder(FakeEmbedder):
    """The fake with token states (``Embedder.token_states``): a token per word, whose
    state is that word's one-hot vector. The mean over a span is then the bag of its
    words, so a sentence's vector from its passage's pass equals its own vector."""

    def __init__(self, delay: float = 0.0, max_tokens: int = 10_000):
        super().__init__(delay)
        self.max_tokens = max_tokens  # tokens it sees of a text (as the real model cuts at 512)

    def token_states(self, texts):
        if self.delay:
            time.sleep(self.delay)
        self.embedded.extend(texts)
        for i, text in enumerate(texts):
            words = list(re.finditer(r"\w+", text.lower()))[: self.max_tokens]
            states = np.zeros((max(len(words), 1), DIM), np.float32)
            spans = np.full((len(states), 2), -1, np.int64)
            for n, w in enumerate(words):
                states[n, int(hashlib.md5(w.group().encode()).hexdigest(), 16) % DIM] = 1.0
                spans[n] = w.span()
            yield i, states, spans
