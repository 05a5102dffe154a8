import numpy as np
import pytest

from vraagbaak import Index, VraagbaakError
from vraagbaak.index import StoredPassage
from vraagbaak.search import ANSWER_LEAD_BONUS, LEAD_WEIGHT, SENTENCE_WEIGHT, NO_MATCH_SIMILARITY, Hit, _fuse, choose_answer, good_matches


def test_fuse_keeps_dense_order_unless_the_bonuses_break_a_near_tie():
    dense = np.array([0.90, 0.80, 0.895], np.float32)
    rows = np.array([5, 6, 7])
    lexical = np.zeros(10, np.float32)
    lexical[7] = 4.0  # strong lexical match for row 7 only
    best_sentence = np.full(10, 0.8, np.float32)
    is_lead = np.zeros(10, np.float32)
    is_lead[[0, 5, 7]] = 1
    scores, order, sims = _fuse(dense, rows, lexical, best_sentence, is_lead, 3)
    assert list(order) == [7, 5, 6]  # 0.895 + lexical + lead beats 0.90 + lead
    assert list(sims) == pytest.approx([0.895, 0.90, 0.80])
    assert scores[1] == pytest.approx(0.90 + LEAD_WEIGHT + SENTENCE_WEIGHT * 0.8)
    best_sentence[6] = 0.95  # one sentence of row 6 matches much better ...
    assert list(_fuse(dense, rows, np.zeros(10, np.float32), best_sentence, np.zeros(10, np.float32), 3)[1]) == [5, 7, 6]
    # ... but 0.15 x 0.15 does not make up for a passage 0.1 behind in cosine


def test_modes_k_and_document_filter(fake, corpus, tmp_path):
    index = Index.build(corpus, tmp_path / "idx", model="fake", progress=False)
    for mode in ("dense", "lexical", "hybrid"):
        hits = index.search("wat is preventie?", k=4, mode=mode)
        assert [h.rank for h in hits] == [1, 2, 3, 4]
        assert all(h.answer and h.answer in h.text for h in hits)
        assert (hits[0].similarity is None) == (mode == "lexical")
    only = index.search("sociaal werk", k=20, source="vertrouw-op-je-kracht.txt")
    assert only and {h.source for h in only} == {"vertrouw-op-je-kracht.txt"}
    with pytest.raises(VraagbaakError, match="k must be"):
        index.search("preventie", k=0)
    with pytest.raises(VraagbaakError, match="unknown search mode"):
        index.search("preventie", mode="magisch")


def _hit(similarity):
    return Hit(1, similarity or 0, "a.txt", "A", "tekst", 0, 5, similarity=similarity)


def test_good_matches_turns_away_weak_hits():
    strong, weak = _hit(NO_MATCH_SIMILARITY + 0.01), _hit(NO_MATCH_SIMILARITY - 0.01)
    assert good_matches([strong, weak]) == [strong]
    assert good_matches([weak]) == []
    lexical = _hit(None)
    assert good_matches([lexical]) == [lexical]  # lexical mode has no cosine to judge
    assert good_matches([]) == []


def _passage(text, heading=""):
    from vraagbaak.chunking import split_sentences

    spans = tuple((a + 100, b + 100) for a, b in split_sentences(text))  # passage starts at offset 100
    return StoredPassage("x#0", "x.txt", "X", heading, 100, 100 + len(text), text, spans, "k")


def test_answer_is_the_closest_sentence():
    p = _passage("Eerste zin die over iets heel anders gaat dan de vraag. Dit is de zin met het antwoord op de vraag erin. Slot.")
    a, b = choose_answer(p, np.array([0.70, 0.90, 0.60]))
    assert p.text[a - 100 : b - 100] == "Dit is de zin met het antwoord op de vraag erin. Slot."  # short answer sentence + next
    a, b = choose_answer(p, np.array([0.80, 0.80 + ANSWER_LEAD_BONUS / 2, 0.60]))
    assert p.text[a - 100 : b - 100].startswith("Eerste zin")  # near-tie: the opening sentence wins


def test_a_question_or_a_heading_is_no_answer_on_its_own():
    p = _passage("Kop van de sectie\nKrijgt u een uitkering van de gemeente? Dan helpt de gemeente u bij het vinden van werk.", heading="Kop van de sectie")
    a, b = choose_answer(p, np.array([0.99, 0.90, 0.80]))
    assert p.text[a - 100 : b - 100] == "Krijgt u een uitkering van de gemeente? Dan helpt de gemeente u bij het vinden van werk."
