from vraagbaak.search import Hit
from vraagbaak.web.render import NO_MATCH_TEXT, error, limits_text, message_html, ok, refused, render_hits, weeks_svg


def test_answer_highlighted_terms_marked_and_html_escaped():
    text = "Inleiding <script>x</script>. Preventie voorkomt problemen in wijken. Slot."
    start = 100
    a = start + text.index("Preventie")
    b = start + text.index("wijken.") + len("wijken.")
    hit = Hit(1, 0.9, "a&b.txt", "Titel <b>", text, start, start + len(text), answer=text[a - start : b - start], answer_start=a, answer_end=b, similarity=0.88)
    out = render_hits("Wat doet preventie in de wijk?", [hit])
    assert '<mark class="vb-answer"><span class="vb-term">Preventie</span> voorkomt problemen in <span class="vb-term">wijken</span>.</mark>' in out
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "a&amp;b.txt" in out and "Titel &lt;b&gt;" in out and ">sterke overeenkomst, 0,88</span>" in out
    assert '<span class="vb-term">in</span>' not in out  # stop words are not marked


def test_no_hits_says_so():
    assert NO_MATCH_TEXT in render_hits("iets", [])


def test_weak_matches_are_folded_under_the_answers():
    hit = Hit(1, 0.9, "a.txt", "A", "Tekst.", 0, 6, answer="Tekst.", answer_start=0, answer_end=6, similarity=0.9)
    weak = [Hit(n, 0.5, "b.txt", "B", f"Zwak {n}.", 10 * n, 10 * n + 7, similarity=0.8) for n in (2, 3)]
    out = render_hits("vraag", [hit], weak)
    answers, folded = out.split('<details class="vb-weak"><summary>Toon zwakkere overeenkomsten (2)</summary>')
    assert answers.count('class="vb-hit"') == 1 and folded.count('class="vb-hit"') == 2 and ">2. B<" in folded
    assert "vb-weak" not in render_hits("vraag", [hit])
    nothing = render_hits("vraag", [], weak)
    assert nothing.index(NO_MATCH_TEXT) < nothing.index("Toon zwakkere overeenkomsten (2)")


def test_the_no_match_message_names_what_narrowed_the_search_and_tells_only_an_editor_to_add():
    limits = limits_text(folders=["team-a"], types=["pdf", "docx"], collections=("team-a", "team-b"))
    assert limits == ("Er is alleen gezocht in de map team-a en bestanden van de typen pdf, docx: zet de filters uit om ruimer "
                      "te zoeken. Je zoekt alleen in je eigen collecties (team-a, team-b).")
    assert limits_text(document="nota.pdf") == "Er is alleen gezocht in het document nota.pdf: zet het filter uit om ruimer te zoeken."
    assert limits_text() == "" and limits_text(collections=("wijk",)) == "Je zoekt alleen in je eigen collectie (wijk)."
    assert limits_text(since="2024-01-01").startswith("Er is alleen gezocht in documenten van 1 januari 2024 of later:")
    assert "documenten van 1 januari 2024 tot en met 31 maart 2024" in limits_text(since="2024-01-01", until="2024-03-31")
    editor, reader = render_hits("vraag", [], limits=limits), render_hits("vraag", [], limits=limits, may_add=False)
    assert "de map team-a" in editor and "voeg een tekst toe" in editor
    assert "de map team-a" in reader and "voeg" not in reader and "Probeer andere woorden." in reader


def test_one_relevance_scale_for_the_page_and_ask():
    from vraagbaak.search import relevance

    assert relevance(Hit(1, 1.234, "a", "A", "t", 0, 1, similarity=0.8712)) == "sterke overeenkomst, 0,87"
    assert relevance(Hit(1, 0.9, "a", "A", "t", 0, 1, similarity=0.84)) == "redelijke overeenkomst, 0,84"
    assert relevance(Hit(1, 3.21, "a", "A", "t", 0, 1)) == "overeenkomst in woorden, BM25 3,21"


def test_messages_are_styled_by_kind_and_escaped():
    out = message_html([refused("Niet toegevoegd: <b>.pdf"), ok("Opgeslagen als a.txt."), ok("Index bijgewerkt."), error("Fout: kapot"),
                        "Een opmerking", ""])
    assert out == ('<div class="vb-message"><div class="vb-refused"><p>Niet toegevoegd: &lt;b&gt;.pdf</p></div>'
                   '<div class="vb-ok"><p>Opgeslagen als a.txt.</p><p>Index bijgewerkt.</p></div>'
                   '<div class="vb-error"><p>Fout: kapot</p></div><div class="vb-note"><p>Een opmerking</p></div></div>')


def test_page_heading_and_date_shown_when_known():
    hit = Hit(1, 0.9, "nota.pdf", "Nota", "Tekst.", 0, 6, heading="Financiering", similarity=0.9, page=12, date="2024-03-12")
    out = render_hits("vraag", [hit])
    assert '<span class="vb-page">p. 12</span>' in out and "§ Financiering" in out and ">12 maart 2024</span>" in out
    plain = render_hits("vraag", [Hit(1, 0.9, "a.txt", "A", "Tekst.", 0, 6, similarity=0.9)])
    assert "vb-page" not in plain and "§" not in plain and "vb-date" not in plain


def test_each_hit_links_its_source_at_its_page_and_names_its_copies():
    hit = Hit(1, 0.9, "team a/nota.pdf", "Nota", "Tekst.", 0, 6, similarity=0.84, page=12, also_in=("archief/nota.pdf",))
    out = render_hits("vraag", [hit])
    assert '<a class="vb-open" href="bron/team%20a/nota.pdf#page=12" target="_blank" rel="noopener">team a/nota.pdf</a>' in out
    assert "ook in: archief/nota.pdf" in out and ">redelijke overeenkomst, 0,84</span>" in out
    assert "ook in" not in render_hits("vraag", [Hit(1, 0.9, "a.txt", "A", "Tekst.", 0, 6, similarity=0.9)])


def test_the_weeks_plot_draws_each_week_with_a_dutch_date_and_a_point_for_a_week_alone():
    week = {"start": "2026-12-07", "positive": 2, "share_first": 0.5, "mrr": 0.75}
    alone = weeks_svg([week])
    assert alone.count("<circle") == 2 and ">7 dec<" in alone and "week van 7 december 2026: 2 goede oordelen, op plek 1 0,50" in alone
    later = dict(week, start="2026-12-14", positive=1, share_first=1.0, mrr=1.0)
    two = weeks_svg([week, {"start": "2026-12-09", "positive": 0, "share_first": None, "mrr": None}, later])
    assert two.count("<circle") == 4 and ">14 dec<" in two and "Mon" not in two
    assert weeks_svg([]) == "" and weeks_svg([dict(week, positive=0, share_first=None, mrr=None)]) == ""
