import re

from vraagbaak.chunking import ChunkingSettings, chunk_document, embedding_text, split_sentences


def sentences(text):
    return [text[a:b] for a, b in split_sentences(text)]


def test_dutch_abbreviations_do_not_end_sentences():
    text = (
        "Sociaal werkers helpen o.a. jongeren, bijv. met schulden. "
        "Dat is d.w.z. lastig m.b.t. de regels. Het kost ca. 5 mln. euro per jaar. Klaar!"
    )
    assert sentences(text) == [
        "Sociaal werkers helpen o.a. jongeren, bijv. met schulden.",
        "Dat is d.w.z. lastig m.b.t. de regels.",
        "Het kost ca. 5 mln. euro per jaar.",
        "Klaar!",
    ]


def test_numbered_and_bulleted_list_items_stay_whole():
    text = "Kies uit:\n- het huidige systeem;\n- een permanente wintertijd.\nDat is 1. goed en 2. slecht."
    assert sentences(text) == [
        "Kies uit:",
        "- het huidige systeem;",
        "- een permanente wintertijd.",
        "Dat is 1. goed en 2. slecht.",
    ]


def _article(n=40):
    parts = ["Titel van het stuk", ""]
    for i in range(n):
        parts.append(f"Zin nummer {i} gaat over preventie en sociaal werk in de wijk, o.a. in buurthuizen.")
        if i % 7 == 6:
            parts += ["", f"Kop {i}", ""]
    return "\n".join(parts)


def test_passages_are_whole_sentences_with_exact_offsets():
    text = _article()
    bounds = split_sentences(text)
    starts, ends = {a for a, _ in bounds}, {b for _, b in bounds}
    passages = chunk_document(text, "Titel van het stuk", ChunkingSettings(target_chars=300, max_chars=400))
    assert len(passages) > 3
    for p in passages:
        assert p.text == text[p.start : p.end]
        assert p.start in starts and p.end in ends  # never cut inside a sentence
        assert len(p.text) <= 400
        assert all(text[a:b] in p.text for a, b in p.sentences)
    covered = set()
    for p in passages:
        covered.update(p.sentences)
    assert covered == set(bounds)  # nothing lost


def test_overlap_repeats_one_sentence_within_a_section():
    text = " ".join(f"Dit is zin {i} over werk." for i in range(30))
    passages = chunk_document(text, "", ChunkingSettings(target_chars=100, max_chars=200, overlap_sentences=1))
    for a, b in zip(passages, passages[1:]):
        assert b.sentences[0] == a.sentences[-1]


def test_headings_start_new_passages():
    text = "Kop een\nEerste alinea. Nog een zin.\n\nKop twee\nTweede alinea."
    passages = chunk_document(text, "Kop een", ChunkingSettings(target_chars=1000, min_chars=0))
    assert [p.heading for p in passages] == ["Kop een", "Kop twee"]
    assert passages[1].text == "Kop twee\nTweede alinea."


def test_a_list_item_heads_nothing():
    text = ("Gegevens\nU heeft deze gegevens nodig voor de aanvraag van uw paspoort bij de gemeente.\n"
            "- geboortedatum\n- burgerservicenummer\nDaarna maakt u een afspraak bij de balie van het gemeentehuis.")
    passages = chunk_document(text, "", ChunkingSettings(target_chars=1000, min_chars=0))
    assert [p.heading for p in passages] == ["Gegevens"]  # not "- burgerservicenummer"


def test_a_page_number_or_table_cell_heads_nothing():
    text = ("Gebeurtenissen\nEen pand wordt gesloopt en de gemeente legt dat vast in de registratie.\n"
            "3235\n3 4 2\nDaarna krijgt het pand de status pand gesloopt in de basisregistratie.")
    passages = chunk_document(text, "", ChunkingSettings(target_chars=1000, min_chars=0))
    assert [p.heading for p in passages] == ["Gebeurtenissen"]  # a line without a word is no section heading


def test_a_too_short_passage_is_not_closed_at_a_heading():
    text = "‘Een titel tussen aanhalingstekens’\n\nOndertitel\n\n" + "Een zin in de eerste alinea. " * 10
    passages = chunk_document(text, "‘Een titel tussen aanhalingstekens’", ChunkingSettings(min_chars=200))
    assert len(passages) == 1 and passages[0].text.startswith("‘Een titel") and "Ondertitel" in passages[0].text


def test_token_limit_is_respected_and_a_huge_sentence_is_cut_at_spaces():
    words = lambda s: len(re.findall(r"\w+", s)) + 2
    giant = " ".join(["woord"] * 300) + "."
    text = f"Korte zin. {giant} Nog een zin."
    settings = ChunkingSettings(max_tokens=60, max_chars=5000, target_chars=5000, title_in_passage=False)
    passages = chunk_document(text, "", settings, count_tokens=words)
    assert all(words(embedding_text("", p.text, settings)) <= 60 for p in passages)
    assert "".join(p.text for p in passages).replace(" ", "") .count("woord") >= 300


def test_embedding_text_prefixes_the_title_once():
    s = ChunkingSettings()
    assert embedding_text("Titel", "Tekst.", s) == "Titel\nTekst."
    assert embedding_text("Titel", "Titel\nTekst.", s) == "Titel\nTekst."
    assert embedding_text("Titel", "Tekst.", ChunkingSettings(title_in_passage=False)) == "Tekst."
    assert embedding_text("Titel", "Tekst.", s, heading="Kopje") == "Titel\nKopje\nTekst."
    assert embedding_text("Titel", "Kopje\nTekst.", s, heading="Kopje") == "Titel\nKopje\nTekst."
    assert embedding_text("Titel", "Tekst.", ChunkingSettings(heading_in_passage=False), heading="Kopje") == "Titel\nTekst."


def _real_texts():
    from conftest import ROOT, SHARED

    paths = sorted((ROOT / "corpus").glob("*.txt"))
    faq = SHARED / "eval" / "rijksoverheid-faq" / "corpus"
    paths += sorted(faq.glob("*.txt"))[:150] if faq.is_dir() else []
    return [p.read_text(encoding="utf-8") for p in paths]


def test_the_fast_abbreviation_scan_splits_exactly_as_pysbd():
    texts = _real_texts() + [
        "Zie art. 5 lid 2 resp. bijv. blz. 12 e.v. van de Stcrt. en dhr. Jansen c.q. mevr. De Vries.",
        "Het is ca. 3 km. verder, nl. bij de St. Jan. Prof. dr. ir. A.B. Smit e.a. waren er.",
        "Vgl. hfst. 3 en bijl. II. Enz. enz. Mr. Jansen b.v.",
    ]
    assert len(texts) > 3
    for text in texts:
        assert split_sentences(text) == split_sentences(text, _fast=False)


def test_markdown_heading_marks_are_not_part_of_the_heading():
    body = "Het wijkteam helpt bewoners met vragen over geld, zorg en opvoeding. " * 6
    text = f"# Mantelzorg in de wijk\n\n{body}\n\n## Respijtzorg\n\n{body}"
    passages = chunk_document(text, "Mantelzorg in de wijk", ChunkingSettings(target_chars=300, max_chars=600, min_chars=0))
    assert {p.heading for p in passages} == {"Mantelzorg in de wijk", "Respijtzorg"}
    assert all(p.text == text[p.start : p.end] for p in passages)  # the text itself keeps its marks and offsets
