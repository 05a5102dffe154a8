from vraagbaak.corpus import decode_text, read_corpus


def test_reads_txt_and_md_with_titles(tmp_path):
    (tmp_path / "a.txt").write_text("\n\n  Eerste titel\nTekst.\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# Kop van b\n\nInhoud.", encoding="utf-8")
    (tmp_path / "c.pdf").write_bytes(b"%PDF")
    (tmp_path / ".verborgen.txt").write_text("geheim", encoding="utf-8")
    docs = read_corpus(tmp_path)
    assert [(d.source, d.title) for d in docs] == [("a.txt", "Eerste titel"), ("sub/b.md", "Kop van b")]


def test_title_falls_back_to_file_name(tmp_path):
    (tmp_path / "alleen-witruimte.txt").write_text("   \n\t\n", encoding="utf-8")
    (tmp_path / "ok.txt").write_text("x", encoding="utf-8")
    skipped = []
    docs = read_corpus(tmp_path, on_skip=lambda s, r: skipped.append((s, r)))
    assert [d.source for d in docs] == ["ok.txt"]
    assert skipped == [("alleen-witruimte.txt", "leeg bestand")]


def test_windows_1252_is_decoded_and_bom_and_crlf_normalised():
    assert decode_text("Café – één".encode("cp1252")) == "Café – één"
    assert decode_text("\ufeffregel 1\r\nregel 2\r".encode("utf-8")) == "regel 1\nregel 2\n"


def test_bad_files_are_skipped_by_name_not_fatal(tmp_path):
    (tmp_path / "goed.txt").write_text("Een goede tekst.", encoding="utf-8")
    (tmp_path / "binair.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "kapot.txt").write_bytes(b"\x81\x8d\x8f\x90\x9d")  # undefined in cp1252 too
    skipped = []
    docs = read_corpus(tmp_path, on_skip=lambda s, r: skipped.append(s))
    assert [d.source for d in docs] == ["goed.txt"]
    assert sorted(skipped) == ["binair.txt", "kapot.txt"]
