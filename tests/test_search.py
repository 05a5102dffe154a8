from dataclasses import replace

import numpy as np
import pytest

from vraagbaak import ChunkingSettings, Index, VraagbaakError
from fake_store import MemoryStore
from vraagbaak.search import (NO_MATCH_SIMILARITY, NO_MATCH_SIMILARITY_FP32, Features, Hit, RankingSettings, Searcher, choose_answer, fuse, split_weak,
                              looks_like_contents)
from vraagbaak.lexical import tokenize
from vraagbaak.stores import Passage

SETTINGS = RankingSettings()


def test_fuse_keeps_dense_order_unless_the_bonuses_break_a_near_tie():
    dense = np.array([0.90, 0.80, 0.895], np.float32)  # three candidates
    lexical = np.array([0.0, 0.0, 4.0], np.float32)  # strong lexical match for the third only
    best_sentence = np.full(3, 0.8, np.float32)
    is_lead = np.array([1, 0, 1], np.float32)
    scores = fuse(Features(dense, lexical, best_sentence, is_lead), SETTINGS)
    assert list(np.argsort(-scores, kind="stable")) == [2, 0, 1]  # 0.895 + lexical + lead beats 0.90 + lead
    assert scores[0] == pytest.approx(0.90 + SETTINGS.lead_weight + SETTINGS.sentence_weight * 0.8)
    assert scores[2] == pytest.approx(0.895 + SETTINGS.lexical_weight + SETTINGS.lead_weight + SETTINGS.sentence_weight * 0.8)
    best_sentence[1] = 0.95  # one sentence of the second matches much better ...
    no_bonus = fuse(Features(dense, np.zeros(3, np.float32), best_sentence, np.zeros(3, np.float32)), SETTINGS)
    assert list(np.argsort(-no_bonus, kind="stable")) == [0, 2, 1]
    # ... but sentence_weight x 0.15 does not make up for a passage 0.1 behind in cosine


def test_weights_come_from_the_settings_passed_in(fake, corpus, tmp_path):
    Index.build(corpus, tmp_path / "idx", model="fake", progress=False)
    plain = Index.load(tmp_path / "idx", ranking=RankingSettings(lexical_weight=0, sentence_weight=0, lead_weight=0, neighbour_weight=0))
    hybrid = plain.search("wat is preventie?", k=5, mode="hybrid")
    dense = plain.search("wat is preventie?", k=5, mode="dense")
    assert [(h.id, h.score) for h in hybrid] == [(h.id, h.score) for h in dense]  # no bonuses: dense order
    default = Index.load(tmp_path / "idx")
    assert default.search("wat is preventie?", k=1)[0].score > default.search("wat is preventie?", k=1, mode="dense")[0].score


def test_modes_k_and_document_filter(fake, corpus, tmp_path):
    index = Index.build(corpus, tmp_path / "idx", model="fake", progress=False)
    for mode in ("dense", "lexical", "hybrid"):
        hits = index.search("wat is preventie?", k=4, mode=mode)
        assert [h.rank for h in hits] == [1, 2, 3, 4]
        assert all(h.answer and h.answer in h.text for h in hits)
        assert (hits[0].similarity is None) == (mode == "lexical")
    only = index.search("sociaal werk", k=20, source="vertrouw-op-je-kracht.txt")
    assert only and {h.source for h in only} == {"vertrouw-op-je-kracht.txt"}
    with pytest.raises(VraagbaakError, match="Het aantal resultaten"):
        index.search("preventie", k=0)
    with pytest.raises(VraagbaakError, match="Onbekende zoekwijze"):
        index.search("preventie", mode="magisch")


def test_lexical_mode_finds_a_rare_term_past_the_first_rows_that_match(fake, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(300):  # 300 passages with the common word, in row order before the one that answers
        (corpus / f"a{i:03d}.txt").write_text(f"Bericht {i}\n\nDe gemeente meldt nieuws over de wijk, nummer {i}.", encoding="utf-8")
    (corpus / "z.txt").write_text("Kwelder\n\nDe gemeente beheert ook de kwelder langs de dijk.", encoding="utf-8")
    index = Index.build(corpus, tmp_path / "idx", model="fake", progress=False)
    hits = index.search("Wat doet de gemeente met de kwelder?", k=3, mode="lexical")
    assert hits[0].source == "z.txt"
    assert index.search("gemeente kwelder", k=1, mode="lexical", source="z.txt")[0].source == "z.txt"


def _hit(similarity):
    return Hit(1, similarity or 0, "a.txt", "A", "tekst", 0, 5, similarity=similarity)


def test_split_weak_turns_away_weak_hits():
    strong, weak = _hit(NO_MATCH_SIMILARITY + 0.01), _hit(NO_MATCH_SIMILARITY - 0.01)
    answer, weaker = replace(strong, weak=False), replace(weak, weak=True)  # each hit returned says which it is
    assert split_weak([strong, weak], SETTINGS) == ([answer], [weaker])
    assert split_weak([weak], SETTINGS) == ([], [weaker])
    lexical = _hit(None)
    assert split_weak([lexical], SETTINGS) == ([replace(lexical, weak=False)], [])  # lexical mode has no cosine to judge
    assert split_weak([], SETTINGS) == ([], [])
    assert split_weak([strong], RankingSettings(no_match_similarity=0.99)) == ([], [replace(strong, weak=True)])  # the index's own threshold


def _passage(text, heading=""):
    from vraagbaak.chunking import split_sentences

    spans = tuple((a + 100, b + 100) for a, b in split_sentences(text))  # passage starts at offset 100
    return Passage(heading, 100, 100 + len(text), text, spans, 0, "", id=0, source="x.txt", title="X")


def test_answer_is_the_closest_sentence():
    p = _passage("Eerste zin die over iets heel anders gaat dan de vraag. Dit is de zin met het antwoord op de vraag erin. Slot.")
    a, b = choose_answer(p, np.array([0.70, 0.90, 0.60]))
    assert p.text[a - 100 : b - 100] == "Dit is de zin met het antwoord op de vraag erin. Slot."  # short answer sentence + next
    a, b = choose_answer(p, np.array([0.80, 0.80 + SETTINGS.answer_lead_bonus / 2, 0.60]))
    assert p.text[a - 100 : b - 100].startswith("Eerste zin")  # near-tie: the opening sentence wins


def test_a_question_or_a_heading_is_no_answer_on_its_own():
    p = _passage("Kop van de sectie\nKrijgt u een uitkering van de gemeente? Dan helpt de gemeente u bij het vinden van werk.", heading="Kop van de sectie")
    a, b = choose_answer(p, np.array([0.99, 0.90, 0.80]))
    assert p.text[a - 100 : b - 100] == "Krijgt u een uitkering van de gemeente? Dan helpt de gemeente u bij het vinden van werk."


def test_warm_up_does_what_the_first_question_would_wait_for(fake, corpus, tmp_path, monkeypatch):
    from vraagbaak import lexical
    from vraagbaak.search import WARM_UP_QUESTION

    Index.build(corpus, tmp_path / "idx", model="fake", progress=False)
    index = Index.load(tmp_path / "idx")
    monkeypatch.setattr(lexical, "_stop_words", None)  # as in a fresh process
    asked = []
    monkeypatch.setattr(type(fake), "embed_queries", lambda self, texts: asked.extend(texts) or np.ones((len(texts), self.dimension), np.float32))
    index.warm_up()
    assert asked == [WARM_UP_QUESTION]  # the model loaded and run once
    assert lexical._stop_words is not None  # the question tokenizer's word lists loaded


def test_a_passage_only_bm25_finds_is_in_the_hybrid_results(fake):
    documents = [(f"wijk-{i:02}.txt", f"Wijk {i}", [f"De wijkraad vergadert over de wijk en de buurt, keer {i}."]) for i in range(60)]
    store = MemoryStore(fake, documents + [("regeling.txt", "Regeling", ["De Zvw-bijdrage wordt jaarlijks herzien."])])
    question = "wat doet de wijkraad met de Zvw-bijdrage in de wijk en de buurt?"
    narrow = Searcher(store, lambda: fake, RankingSettings(dense_candidates=5, lexical_candidates=0))  # dense candidates only
    assert "regeling.txt" not in {h.source for h in narrow.search(question, k=5)}
    both = Searcher(store, lambda: fake, RankingSettings(dense_candidates=5, lexical_candidates=5, lexical_weight=0.5))
    hits = both.search(question, k=5)
    assert "regeling.txt" in {h.source for h in hits}
    assert all(h.similarity is not None for h in hits)  # a lexical-only candidate gets its cosine too


def test_the_answer_is_the_sentence_closest_to_the_question(fake):
    text = ("De wijkraad vergadert elke maand in het buurthuis aan de kade. Mantelzorgers krijgen elk jaar een waardering "
            "van de gemeente voor hun inzet. Het loket is op werkdagen open van negen tot vijf uur.")
    store = MemoryStore(fake, [("zorg.txt", "Zorg", [text]), ("ander.txt", "Ander", ["Iets heel anders over fietsen."])])
    hit = Searcher(store, lambda: fake).search("welke waardering krijgen mantelzorgers van de gemeente?", k=1)[0]
    assert hit.source == "zorg.txt" and hit.answer == "Mantelzorgers krijgen elk jaar een waardering van de gemeente voor hun inzet."


def test_the_stores_answer_the_written_contract(fake, corpus, tmp_path):
    from vraagbaak.stores import Location, StoreReader, StoreWriter, locate

    index = Index.build(corpus, tmp_path / "idx", model="fake", progress=False)
    memory = MemoryStore(fake, [("a.txt", "A", ["Een zin."])])
    assert isinstance(index.store, StoreReader) and isinstance(memory, StoreReader)
    location = locate(tmp_path / "idx")
    assert isinstance(location, Location) and isinstance(locate("milvus:./x.db"), Location)
    writer = location.update(index.store)
    try:
        assert isinstance(writer, StoreWriter)
    finally:
        writer.abort()


def test_title_and_heading_are_embedded_and_indexed_with_each_passage(fake, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = "".join(f"Zin {j} over iets anders dan het onderwerp. " for j in range(40))
    (corpus / "wet.txt").write_text(f"Participatiewet\n\nArtikel 22 Kostendelersnorm\n\n{body}", encoding="utf-8")
    index = Index.build(corpus, tmp_path / "idx", model="fake", progress=False)
    later = [p for p in index.store.document_passages("wet.txt") if "Artikel 22" not in p.text]
    assert later and all(p.heading == "Artikel 22 Kostendelersnorm" for p in later)
    assert all({"kostendelersnorm", "participatiewet"} <= set(p.terms.split()) for p in later)  # BM25 sees title and heading
    embedded = [t for t in fake.embedded if "Zin 39" in t and "Zin 38" in t]  # the last passage, not its sentences
    assert embedded and embedded[0].startswith("Participatiewet\nArtikel 22 Kostendelersnorm\n")
    hits = index.search("kostendelersnorm", k=3, mode="lexical")
    assert any("Artikel 22" not in h.text for h in hits)  # a continuation passage is found by its heading


def test_an_index_built_without_heading_context_is_rebuilt_not_mixed(fake, corpus, tmp_path):
    from vraagbaak import ChunkingSettings

    index_dir = tmp_path / "idx"
    old = Index.build(corpus, index_dir, model="fake", progress=False, settings=ChunkingSettings(heading_in_passage=False))
    fake.embedded.clear()
    new = Index.build(corpus, index_dir, model="fake", progress=False)
    assert new.store.generation != old.store.generation  # a new generation, everything embedded with the context
    assert new.report.passages_embedded + new.report.passages_reused == new.passage_count
    assert new.store.config.chunking["heading_in_passage"] is True


def test_the_ranking_settings_are_recorded_in_the_index_and_used_on_load(fake, corpus, tmp_path):
    chosen = RankingSettings(fusion="rrf", rrf_k=30.0, lexical_weight=1.0, sentence_weight=0.5)
    Index.build(corpus, tmp_path / "idx", model="fake", progress=False, ranking=chosen)
    assert Index.load(tmp_path / "idx").ranking == chosen
    assert Index.load(tmp_path / "idx", ranking=RankingSettings()).ranking == RankingSettings()  # unless told otherwise
    hits = Index.load(tmp_path / "idx").search("wat is preventie?", k=3)
    assert [h.rank for h in hits] == [1, 2, 3] and hits[0].score <= 1.0  # reciprocal-rank scores


def test_fp32_vectors_get_the_no_match_cosine_calibrated_on_fp32_cosines():
    assert RankingSettings().for_vectors("openvino-int8").no_match_similarity == NO_MATCH_SIMILARITY
    assert RankingSettings().for_vectors("").no_match_similarity == NO_MATCH_SIMILARITY  # a registered embedder: as it is
    for fp32 in ("openvino-fp32", "torch"):
        assert RankingSettings().for_vectors(fp32).no_match_similarity == NO_MATCH_SIMILARITY_FP32 > NO_MATCH_SIMILARITY
        chosen = RankingSettings(no_match_similarity=0.8)
        assert chosen.for_vectors(fp32) == chosen  # a value someone chose is theirs
    assert RankingSettings().for_vectors("torch").no_match_coverage == RankingSettings().no_match_coverage


def test_an_index_of_fp32_vectors_turns_away_with_the_fp32_cosine(fake, corpus, tmp_path):
    index = Index.build(corpus, tmp_path / "idx", model="fake", progress=False)
    index.store.config = replace(index.store.config, backend="openvino-fp32")  # as an fp32 build records it
    assert Index(index.store).ranking.no_match_similarity == NO_MATCH_SIMILARITY_FP32
    weak = Hit(1, 0.9, "a.txt", "T", "x", 0, 1, similarity=0.835, coverage=0.0)
    assert split_weak([weak], RankingSettings())[0] and not split_weak([weak], Index(index.store).ranking)[0]


def test_rrf_ranks_by_reciprocal_ranks():
    features = Features(np.array([0.9, 0.8, 0.7], np.float32), np.array([0.0, 5.0, 1.0], np.float32),
                        np.array([0.5, 0.5, 0.9], np.float32), np.zeros(3, np.float32))
    settings = RankingSettings(fusion="rrf", rrf_k=1.0, lexical_weight=1.0, sentence_weight=1.0, lead_weight=0.0)
    scores = fuse(features, settings)
    # dense ranks 1,2,3; lexical ranks -,1,2 (a zero BM25 counts nothing); sentence ranks 2,3,1 (ties keep order)
    assert scores == pytest.approx([1 / 2 + 0 + 1 / 3, 1 / 3 + 1 / 2 + 1 / 4, 1 / 4 + 1 / 3 + 1 / 2])


def test_the_answer_sentence_can_lean_on_the_question_s_rare_terms():
    text = "Het college beslist over de aanvraag. De Zvw-bijdrage wordt jaarlijks herzien."
    passage = Passage("", 0, len(text), text, ((0, 37), (38, len(text))), 0, "", id=1, source="d.txt", title="T")
    sims = np.array([0.85, 0.84], np.float32)
    plain = RankingSettings(answer_lead_bonus=0.0, answer_lexical_weight=0.0, short_sentence=0, answer_tie=-1.0)  # one sentence only
    assert choose_answer(passage, sims, plain, {"zvw": 5.0, "bijdrag": 3.0}) == (0, 37)
    lexical = RankingSettings(answer_lead_bonus=0.0, answer_lexical_weight=0.05, short_sentence=0, answer_tie=-1.0)
    assert choose_answer(passage, sims, lexical, {"zvw": 5.0, "bijdrag": 3.0}) == (38, len(text))


def test_a_table_of_contents_is_no_answer():
    def passage(heading, text):
        return Passage(heading, 0, len(text), text, (), 0, "")

    assert looks_like_contents(passage("", "1 Gebouwen ........ 6 1.1 Bouwaanvraag ........ 6 1.2 Sloop ........ 9 2 Wegen ........ 12"))
    assert looks_like_contents(passage("Inhoudsopgave", "Voorwoord 3"))  # its heading says so
    assert not looks_like_contents(passage("1.2 Sloop", "Na een sloop (zie pagina 9) vervalt het pand. Dat geldt ook ... 12 keer."))
    features = Features(np.array([0.91, 0.85, 0.80], np.float32), np.array([9.0, 1.0, 0.0], np.float32),
                        np.full(3, 0.8, np.float32), np.zeros(3, np.float32), contents=np.array([1, 0, 0], np.float32))
    for settings in (SETTINGS, RankingSettings(fusion="rrf")):
        assert list(np.argsort(-fuse(features, settings), kind="stable")) == [1, 2, 0]  # best by every signal, yet last


def test_the_lead_bonus_counts_only_in_documents_short_enough_to_lead_with_their_point():
    dense = np.array([0.800, 0.805], np.float32)  # two documents' opening passages, the second slightly closer
    features = Features(dense, np.zeros(2, np.float32), np.zeros(2, np.float32), np.array([1, 0], np.float32),
                        document_passages=np.array([3, 3], np.float32))
    settings = RankingSettings(lead_weight=0.025, lead_max_passages=40)
    assert np.argmax(fuse(features, settings)) == 0  # a short text's opening passage: the bonus counts
    features.document_passages = np.array([120, 3], np.float32)  # a report's cover page
    assert np.argmax(fuse(features, settings)) == 1


def test_the_lead_bonus_never_lifts_an_opening_passage_over_a_clearly_closer_one():
    dense = np.array([0.79, 0.83], np.float32)  # an article's opening passage, and the passage that answers
    features = Features(dense, np.zeros(2, np.float32), np.zeros(2, np.float32), np.array([1, 0], np.float32),
                        document_passages=np.array([10, 10], np.float32))
    strong_lead = RankingSettings(lead_weight=0.05, lead_within=0.03)
    assert np.argmax(fuse(features, strong_lead)) == 1  # 0.04 closer: no bonus for the opening
    features.dense = np.array([0.81, 0.83], np.float32)  # within 0.03: a near-tie the bonus settles
    assert np.argmax(fuse(features, strong_lead)) == 0
    assert np.argmax(fuse(features, replace(strong_lead, lead_within=0.01))) == 1


def test_neighbours_are_passages_of_the_same_document_only(fake):
    store = MemoryStore(fake, [
        ("a.txt", "A", ["Het buurthuis is open op maandag.", "Mantelzorgers krijgen een waardering van de gemeente.", "Fietsen staan buiten."]),
        ("b.txt", "B", ["Mantelzorgers krijgen een waardering van de gemeente."]),
    ])
    searcher = Searcher(store, lambda: fake, RankingSettings(neighbour_weight=0.1))
    question = "welke waardering krijgen mantelzorgers?"
    found, features = searcher.candidates(["mantelzorger", "waardering"], fake.embed_queries([question])[0])
    cosine = {int(r): float(s) for r, s in zip(found.rows, features.dense)}
    neighbour = {int(r): float(n) for r, n in zip(found.rows, features.neighbour)}
    assert neighbour[0] == pytest.approx(cosine[1]) and neighbour[2] == pytest.approx(cosine[1])  # beside row 1, in a.txt
    assert neighbour[1] == pytest.approx(max(cosine[0], cosine[2]))
    assert neighbour[3] == pytest.approx(cosine[3])  # b.txt has one passage: its own cosine, not a.txt's last
    assert {int(r): int(n) for r, n in zip(found.rows, features.document_passages)} == {0: 3, 1: 3, 2: 3, 3: 1}


def test_a_point_made_over_two_sentences_is_shown_whole():
    text = "Een signaal van school over een gezin komt binnen bij het wijkteam. Een signaal is geen zaak. Het team belt later."
    spans = ((0, 67), (68, 94), (95, len(text)))
    passage = Passage("", 0, len(text), text, spans, 0, "", id=1, source="d.txt", title="T")
    settings = RankingSettings(answer_lead_bonus=0.0, answer_lexical_weight=0.0, short_sentence=0, answer_tie=0.02)
    assert choose_answer(passage, np.array([0.86, 0.85, 0.70], np.float32), settings) == (0, 94)  # the next is as close: both
    assert choose_answer(passage, np.array([0.86, 0.80, 0.70], np.float32), settings) == (0, 67)  # clearly further: one
    assert choose_answer(passage, np.array([0.70, 0.85, 0.86], np.float32), settings) == (68, len(text))  # the one before joins too
    assert choose_answer(passage, np.array([0.845, 0.85, 0.86], np.float32), settings) == (68, len(text))  # the closer of the two
    assert choose_answer(passage, np.array([0.80, 0.86, 0.70], np.float32), settings) == (68, 94)  # both clearly further: one


def test_split_weak_weighs_the_cosine_and_the_questions_rare_terms_found_together():
    settings = RankingSettings(no_match_similarity=0.83, no_match_coverage=0.6, no_match_floor=0.78)
    close = Hit(1, 0.9, "a.txt", "A", "t", 0, 1, similarity=0.85, coverage=0.1)
    rare_terms = Hit(2, 0.8, "b.txt", "B", "t", 0, 1, similarity=0.81, coverage=0.7)  # "Een tuinbed kost 12 euro per jaar"
    far = Hit(3, 0.7, "c.txt", "C", "t", 0, 1, similarity=0.75, coverage=0.9)  # the words, but about something else
    weak = Hit(4, 0.7, "d.txt", "D", "t", 0, 1, similarity=0.81, coverage=0.2)
    answers, weaker = split_weak([close, rare_terms, far, weak], settings)
    assert [(h.source, h.rank, h.weak) for h in answers] == [("a.txt", 1, False), ("b.txt", 2, False)]
    assert [(h.source, h.rank, h.weak) for h in weaker] == [("c.txt", 1, True), ("d.txt", 2, True)]
    assert not split_weak([rare_terms], replace(settings, no_match_coverage=1.01))[0]  # > 1: the clause is off
    assert close.rank == 1 and close.weak is None  # the caller's hits are left as they were
    lexical = Hit(1, 3.2, "e.txt", "E", "t", 0, 1)
    assert split_weak([lexical], settings) == ([replace(lexical, weak=False)], [])  # no cosine to judge
    assert split_weak([], settings) == ([], [])


def test_split_weak_takes_a_passage_one_of_whose_sentences_answers():
    """A question in other words than the text: its answer sentence matches better than the passage around it
    (the bundled set's "Voor welke taken zijn gemeenten verantwoordelijk geworden ...": cosine 0.819, sentence 0.837)."""
    settings = RankingSettings()  # the defaults: cosine 0.83, or a sentence 0.83 with cosine 0.81
    sentence = Hit(1, 0.9, "a.txt", "A", "t", 0, 1, similarity=0.819, best_sentence=0.837)
    no_sentence = Hit(2, 0.9, "b.txt", "B", "t", 0, 1, similarity=0.825, best_sentence=0.826)
    too_far = Hit(3, 0.9, "c.txt", "C", "t", 0, 1, similarity=0.80, best_sentence=0.86)  # one sentence alike, the passage not
    answers, weaker = split_weak([sentence, no_sentence, too_far], settings)
    assert [h.source for h in answers] == ["a.txt"] and [h.source for h in weaker] == ["b.txt", "c.txt"]


def test_overlapping_passages_give_one_hit(fake, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sentences = [f"Zin {i} gaat over het onderwerp {'preventie' if i in (7, 8, 9) else 'iets anders'}." for i in range(40)]
    (corpus / "lang.txt").write_text("Een lang stuk\n\n" + " ".join(sentences), encoding="utf-8")
    (corpus / "kort.txt").write_text("Kort\n\nPreventie voorkomt problemen.", encoding="utf-8")
    index = Index.build(corpus, tmp_path / "idx", model="fake", progress=False, settings=ChunkingSettings(target_chars=150, max_chars=300))
    passages = index.store.document_passages("lang.txt")
    assert any(a.end > b.start for a, b in zip(passages, passages[1:]))  # neighbours share a sentence
    for mode in ("hybrid", "dense", "lexical"):
        hits = index.search("preventie onderwerp", k=6, mode=mode)
        assert len(hits) == 6, mode  # still k hits: k distinct stretches
        same = [h for h in hits if h.source == "lang.txt"]
        assert all(a.end <= b.start or b.end <= a.start for i, a in enumerate(same) for b in same[i + 1:]), mode


QUESTIONS = ["wat is preventie?", "hoe werkt het wijkteam?", "sociaal werk in de buurt", "vertrouw op je kracht", "wat doet de gemeente?"]


def test_ranking_reads_heads_and_only_the_shown_hits_whole(fake, corpus, tmp_path):
    """Hits are those of ranking whole passages (as before ``passage_heads``), and of hybrid and
    lexical mode's candidates only the shown hits and the passages joined to them are read whole."""
    index = Index.build(corpus, tmp_path / "idx", model="fake", progress=False)
    store, passages = index.store, index.store.passages
    whole = {p.id: p for p in passages(range(len(store.alive))) if p is not None}
    read, joined = [], 0
    store.passages = lambda rows: read.append(len(rows)) or passages(rows)
    for mode in ("hybrid", "dense", "lexical"):
        for k in (1, 5, 20):
            for question in QUESTIONS:
                read.clear()
                hits = index.search(question, k=k, mode=mode)
                assert hits and (mode == "dense" or sum(read) <= 2 * len(hits))  # dense mode's k candidates are read whole
                joined += sum(h.text != whole[int(h.id.rsplit("#", 1)[1])].text for h in hits)
                store.passage_heads = passages  # a whole passage has every field of a head
                assert [h.to_dict() for h in index.search(question, k=k, mode=mode)] == [h.to_dict() for h in hits]
                del store.passage_heads
    assert joined  # some hits are two overlapping passages joined


def test_a_hit_removed_after_ranking_is_not_shown(fake, corpus, tmp_path):
    index = Index.build(corpus, tmp_path / "idx", model="fake", progress=False)
    hits = index.search("wat is preventie?", k=5)
    gone = int(hits[0].id.rsplit("#", 1)[1])
    store, passages = index.store, index.store.passages
    store.passages = lambda rows: [None if int(r) == gone else p for r, p in zip(rows, passages(rows))]
    later = index.search("wat is preventie?", k=5)
    assert [(h.rank, h.id) for h in later] == [(n, h.id) for n, h in enumerate(hits[1:], start=1)]


def test_contents_flags_are_looks_like_contents_of_each():
    import random

    from vraagbaak.search import contents_flags

    rng = random.Random(5)
    texts = ["Het wijkteam helpt.", "1 Gebouwen ........ 6 1.1 Bouwaanvraag ........ 6 1.2 Sloop ........ 9", "Zie ... pagina 3.",
             "a\t12 b\t14 c\t15", "Voorwoord . . . . 3"]
    headings = ["", "Inhoudsopgave", " inhoud ", "Contents", "1.2 Sloop", "Inhoud van het plan"]
    for _ in range(300):
        passages = [Passage(rng.choice(headings), 0, 1, rng.choice(texts), (), 0, "") for _ in range(rng.randint(0, 12))]
        if rng.random() < 0.5:  # most pools: no leader anywhere
            passages = [replace(p, text="Het wijkteam helpt.") for p in passages]
        flags = contents_flags(passages)
        assert flags.dtype == np.float32 and flags.tolist() == [float(looks_like_contents(p)) for p in passages]


def test_best_of_each_is_each_arrays_maximum():
    from vraagbaak.search import best_of_each

    rng = np.random.default_rng(3)
    for _ in range(200):
        values = [rng.normal(size=rng.integers(0, 5)).astype(np.float32) for _ in range(rng.integers(0, 30))]
        expected = np.array([v.max() if len(v) else -1.0 for v in values], np.float32)  # as hybrid ranking did
        assert np.array_equal(best_of_each(values), expected)
    assert best_of_each([]).shape == (0,)


def test_neighbour_cosines_are_the_best_of_the_passages_beside_each_in_its_document(fake):
    import random

    rng = random.Random(2)
    words = ["mantelzorg", "waardering", "buurthuis", "fiets", "gemeente", "wijkteam", "schulden", "jeugd"]
    documents = [(f"d{d}.txt", f"D{d}", [" ".join(rng.choices(words, k=6)).capitalize() + "." for _ in range(rng.randint(1, 5))])
                 for d in range(30)]
    store = MemoryStore(fake, documents)
    searcher = Searcher(store, lambda: fake, RankingSettings(neighbour_weight=0.1, dense_candidates=40, lexical_candidates=20))
    for question in ["mantelzorg waardering", "fiets in de wijk", "schulden en jeugd"]:
        query = fake.embed_queries([question])[0]
        found, features = searcher.candidates(tokenize([question])[0], query)
        cosine = store.dense_scores(query, np.arange(store.passage_count))
        for row, own, neighbour in zip(found.rows.tolist(), features.dense, features.neighbour):
            record = store.document_records[store.passages([row])[0].source]
            beside = [r for r in (row - 1, row + 1) if record.first_row <= r < record.first_row + record.rows]
            assert neighbour == (max(np.float32(cosine[r]) for r in beside) if beside else own)


def _one_per_stretch_as_before(passages):
    """``one_per_stretch`` as it was before issue 39 (every passage searched its document's stretches)."""
    kept, joined, taken = [], {}, {}
    for i, p in enumerate(passages):
        stretches = taken.setdefault(p.source, [])
        overlap = next((n for n, (start, end, _) in enumerate(stretches) if p.start < end and start < p.end), None)
        if overlap is None:
            stretches.append((p.start, p.end, i))
            kept.append(i)
            continue
        start, end, first = stretches[overlap]
        if first not in joined:
            joined[first] = i
            stretches[overlap] = (min(start, p.start), max(end, p.end), first)
    return kept, joined


def test_one_per_stretch_joins_an_overlapping_neighbour_once_and_drops_the_rest():
    import random

    from vraagbaak.search import one_per_stretch

    a = [Passage("", start, end, "", (), 0, "", id=n, source="a.txt") for n, (start, end) in enumerate([(0, 10), (8, 20), (18, 30), (40, 50)])]
    b = Passage("", 0, 10, "", (), 0, "", id=9, source="b.txt")
    assert one_per_stretch([a[1], b, a[0], a[2], a[3]]) == ([0, 1, 4], {0: 2})  # a[0] joins a[1]; a[2] overlaps the joined stretch: dropped
    rng = random.Random(4)
    for _ in range(500):
        passages = []
        for _ in range(rng.randint(0, 40)):
            start = rng.randint(0, 60)
            passages.append(Passage("", start, start + rng.randint(1, 15), "", (), 0, "", source=rng.choice("abcdefgh")))
        assert one_per_stretch(passages) == _one_per_stretch_as_before(passages)
