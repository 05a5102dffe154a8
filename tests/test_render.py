from vraagbaak.search import Hit
from vraagbaak.web.render import NO_MATCH_TEXT, render_hits


def test_answer_highlighted_terms_marked_and_html_escaped():
    text = "Inleiding <script>x</script>. Preventie voorkomt problemen in wijken. Slot."
    start = 100
    a = start + text.index("Preventie")
    b = start + text.index("wijken.") + len("wijken.")
    hit = Hit(1, 0.9, "a&b.txt", "Titel <b>", text, start, start + len(text), answer=text[a - start : b - start], answer_start=a, answer_end=b, similarity=0.88)
    out = render_hits("Wat doet preventie in de wijk?", [hit])
    assert '<mark class="vb-answer"><span class="vb-term">Preventie</span> voorkomt problemen in <span class="vb-term">wijken</span>.</mark>' in out
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "a&amp;b.txt" in out and "Titel &lt;b&gt;" in out and 'title="e5-cosinus 0.88">sterke overeenkomst<' in out
    assert '<span class="vb-term">in</span>' not in out  # stop words are not marked


def test_no_hits_says_so():
    assert NO_MATCH_TEXT in render_hits("iets", [])


def test_left_out_passages_are_counted():
    hit = Hit(1, 0.9, "a.txt", "A", "Tekst.", 0, 6, answer="Tekst.", answer_start=0, answer_end=6, similarity=0.9)
    assert "2 andere passage(s)" in render_hits("vraag", [hit], hidden=2)
    assert "andere passage" not in render_hits("vraag", [hit])


def test_page_and_heading_shown_when_known():
    hit = Hit(1, 0.9, "nota.pdf", "Nota", "Tekst.", 0, 6, heading="Financiering", similarity=0.9, page=12)
    out = render_hits("vraag", [hit])
    assert '<span class="vb-page">p. 12</span>' in out and "§ Financiering" in out
    plain = render_hits("vraag", [Hit(1, 0.9, "a.txt", "A", "Tekst.", 0, 6, similarity=0.9)])
    assert "vb-page" not in plain and "§" not in plain


def test_each_hit_links_its_source_at_its_page_and_names_its_copies():
    hit = Hit(1, 0.9, "team a/nota.pdf", "Nota", "Tekst.", 0, 6, similarity=0.84, page=12, also_in=("archief/nota.pdf",))
    out = render_hits("vraag", [hit])
    assert '<a class="vb-open" href="bron/team%20a/nota.pdf#page=12" target="_blank" rel="noopener">team a/nota.pdf</a>' in out
    assert "ook in: archief/nota.pdf" in out and 'title="e5-cosinus 0.84">redelijke overeenkomst<' in out
    assert "ook in" not in render_hits("vraag", [Hit(1, 0.9, "a.txt", "A", "Tekst.", 0, 6, similarity=0.9)])
