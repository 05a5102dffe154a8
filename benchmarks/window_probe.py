"""Would sentence windows help ranking? A probe over dense features only, not the product's fusion. Not a test.

    python benchmarks/window_probe.py INDEX QUESTIONS.jsonl
    (indexes as benchmarks/quality.py builds them: /tmp/vraagbaak-quality/tree/{seeds,faq,long-docs}-default)

Every live passage of the index is scored for each question by its e5 cosine
(d) plus w times one of: its best single sentence (b1), its best window of 2
or 3 consecutive sentences (b2, b3: the normalised mean of the stored 8-bit
sentence vectors), and mrr@10 is printed per combination. It answers whether
windows ("small-to-big") rank better than the single sentences the fusion
already uses; BM25 and the lead bonus are left out on purpose.
"""
import json, sys
import numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from vraagbaak import Index
ix = Index.load(sys.argv[1])
qfile = sys.argv[2]
store = ix.store
rows = np.flatnonzero(store.alive)
ps = store.passages(rows)
V = np.asarray(store.vectors[rows], np.float32)
S = [store.sentence_vectors(int(r)) for r in rows]
def windows(sv, n):
    if len(sv) == 0: return np.zeros((0, V.shape[1]), np.float32)
    if len(sv) < n: w = sv.mean(0, keepdims=True)
    else: w = np.stack([sv[i:i+n].mean(0) for i in range(len(sv)-n+1)])
    return w / np.linalg.norm(w, axis=1, keepdims=True)
W2 = [windows(s, 2) for s in S]; W3 = [windows(s, 3) for s in S]
norm = lambda t: " ".join(t.lower().split())
qs = [json.loads(l) for l in open(qfile)]
emb = ix._searcher.embedder
vs = emb.embed_queries([q["query"] for q in qs])
feats = []
for q, v in zip(qs, vs):
    right = np.array([p.source in q["sources"] and (not q.get("answer") or norm(q["answer"]) in norm(p.text)) for p in ps])
    d = V @ v
    b1 = np.array([(s @ v).max() if len(s) else -1 for s in S])
    b2 = np.array([(w @ v).max() if len(w) else -1 for w in W2])
    b3 = np.array([(w @ v).max() if len(w) else -1 for w in W3])
    feats.append((right, d, b1, b2, b3))
def mrr(fn):
    out = []
    for right, d, b1, b2, b3 in feats:
        s = fn(d, b1, b2, b3)
        order = np.argsort(-s)[:10]
        hit = np.where(right[order])[0]
        out.append(1 / (hit[0] + 1) if len(hit) else 0)
    return np.mean(out)
print("dense", round(mrr(lambda d,b1,b2,b3: d),3))
for w in (0.25, 0.5, 1.0):
    print("d+w*b1", w, round(mrr(lambda d,b1,b2,b3: d + w*b1),3), "d+w*b2", round(mrr(lambda d,b1,b2,b3: d + w*b2),3), "d+w*b3", round(mrr(lambda d,b1,b2,b3: d + w*b3),3))
print("max(d,b2)", round(mrr(lambda d,b1,b2,b3: np.maximum(d,b2)),3), "b2", round(mrr(lambda d,b1,b2,b3: b2),3), "b3", round(mrr(lambda d,b1,b2,b3: b3),3))
