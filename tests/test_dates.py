"""A date for every document: read from each format's metadata, kept in both stores, and searched by (fake model)."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import zipfile
from pathlib import Path

import pytest

from documents import write_docx, write_html, write_odt, write_pdf
from helpers import build
from vraagbaak import VraagbaakError
from vraagbaak.dates import dutch_date, dutch_moment, file_date, parse_day, pdf_day, stated_date
from vraagbaak.readers import extract
from vraagbaak.stores.local import FolderLocation, StoreSettings

from conftest import ROOT

# ------------------------------------------------------------ test files


def set_mtime(path: Path, day: str) -> Path:
    """The file's modification time at noon (local time) of ``day``."""
    moment = dt.datetime.fromisoformat(day).replace(hour=12).timestamp()
    os.utime(path, (moment, moment))
    return path


def pdf_with(path: Path, info: dict) -> Path:
    """The two-page note with exactly this document information (e.g. only a ModDate)."""
    from pypdf import PdfReader, PdfWriter

    source = write_pdf(path.with_name("bron-" + path.name))
    writer = PdfWriter(clone_from=PdfReader(str(source)))
    writer.metadata = None
    writer.add_metadata(info)
    writer.write(str(path))
    source.unlink()
    return path


def docx_with(path: Path, created: dt.datetime | None, modified: dt.datetime | None) -> Path:
    """The Word report with these core properties (None: the element is left out, as some producers do)."""
    source = write_docx(path.with_name("bron-" + path.name))
    stamp = (lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))
    with zipfile.ZipFile(source) as zin:
        parts = {name: zin.read(name) for name in zin.namelist()}
    core = parts["docProps/core.xml"].decode("utf-8")
    import re

    for tag, value in (("created", created), ("modified", modified)):
        element = re.compile(rf"<dcterms:{tag}[^>]*>[^<]*</dcterms:{tag}>")
        replacement = "" if value is None else f'<dcterms:{tag} xsi:type="dcterms:W3CDTF">{stamp(value)}</dcterms:{tag}>'
        core = element.sub(replacement, core)
    parts["docProps/core.xml"] = core.encode("utf-8")
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in parts.items():
            zout.writestr(name, data)
    source.unlink()
    return path


def odt_with(path: Path, created: str | None, modified: str | None) -> Path:
    from odf import dc, meta
    from odf.opendocument import load

    document = load(str(write_odt(path)))
    if created:
        document.meta.addElement(meta.CreationDate(text=created))
    if modified:
        document.meta.addElement(dc.Date(text=modified))
    document.save(str(path))
    return path


def html_with(path: Path, metas: str) -> Path:
    write_html(path)
    page = path.read_text(encoding="utf-8").replace('<meta charset="utf-8">', '<meta charset="utf-8">' + metas)
    path.write_text(page, encoding="utf-8")
    return path


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("make, expected", [
    (lambda p: pdf_with(p / "a.pdf", {"/CreationDate": "D:20210615093000+02'00'", "/ModDate": "D:20230102120000Z"}), "2021-06-15"),
    (lambda p: pdf_with(p / "a.pdf", {"/ModDate": "D:20230102120000+01'00'"}), "2023-01-02"),  # no CreationDate: ModDate
    (lambda p: pdf_with(p / "a.pdf", {"/CreationDate": "D:16010101000000Z", "/ModDate": "D:20191231"}), "2019-12-31"),  # a default, not a date
    (lambda p: docx_with(p / "a.docx", dt.datetime(2022, 5, 4, 8), dt.datetime(2024, 1, 9, 8)), "2022-05-04"),
    (lambda p: docx_with(p / "a.docx", None, dt.datetime(2024, 1, 9, 8)), "2024-01-09"),
    (lambda p: odt_with(p / "a.odt", "2020-02-29T10:00:00", "2021-03-01T10:00:00"), "2020-02-29"),
    (lambda p: odt_with(p / "a.odt", None, "2021-03-01T10:00:00.123"), "2021-03-01"),
    (lambda p: html_with(p / "a.html", '<meta property="article:published_time" content="2024-03-12T08:00:00+01:00">'
                                       '<meta property="article:modified_time" content="2024-05-01">'), "2024-03-12"),
    (lambda p: html_with(p / "a.html", '<meta name="DCTERMS.created" content="2018-11-20">'), "2018-11-20"),
    (lambda p: html_with(p / "a.html", '<meta name="dcterms.modified" content="2017-04-03">'), "2017-04-03"),
    (lambda p: html_with(p / "a.html", '<meta http-equiv="last-modified" content="Tue, 12 Mar 2024 09:30:00 GMT">'), "2024-03-12"),
])
def test_each_format_is_dated_by_its_own_metadata(tmp_path, make, expected):
    path = make(tmp_path)
    data = path.read_bytes()
    assert stated_date(path) == stated_date(path, data) == expected
    assert extract(path, data).date == expected  # what a build reads


def test_files_that_state_no_date(tmp_path):
    text = tmp_path / "notitie.txt"
    text.write_text("Een notitie over de wijk.", encoding="utf-8")
    page = write_html(tmp_path / "pagina.html")  # no <meta> date
    broken = tmp_path / "kapot.docx"
    broken.write_bytes(b"PK\x03\x04 geen zip")
    assert stated_date(text) == stated_date(page) == stated_date(broken) == ""
    assert extract(text, text.read_bytes()).date == ""


def test_pdf_and_file_days():
    assert pdf_day("D:20240312093000+01'00'") == "2024-03-12"
    assert pdf_day("D:2024") == "2024-01-01" and pdf_day("20240312") == "2024-03-12" and pdf_day("2024-03-12T10:00") == "2024-03-12"
    assert pdf_day("D:20241399") == "" and pdf_day("") == "" and pdf_day(None) == ""
    assert pdf_day(f"D:{dt.date.today().year + 2}0101") == ""  # in the future: a wrong clock
    noon = dt.datetime(2019, 7, 1, 12).timestamp()
    assert file_date(int(noon * 1e9)) == "2019-07-01"


def test_dutch_dates_and_moments():
    assert dutch_date("2024-03-12") == "12 maart 2024"
    assert dutch_date(dt.date(2023, 1, 1)) == "1 januari 2023" and dutch_date(dt.datetime(2021, 12, 31, 23)) == "31 december 2021"
    assert dutch_date("") == "" and dutch_date(None) == ""
    now = dt.datetime(2024, 3, 12, 15, 0)
    assert dutch_moment(dt.datetime(2024, 3, 12, 14, 32), now) == "om 14:32"
    assert dutch_moment(dt.datetime(2024, 3, 11, 9, 5), now) == "gisteren om 09:05"
    assert dutch_moment(dt.datetime(2024, 2, 1, 9, 5), now) == "1 februari 2024 om 09:05"
    assert dutch_moment(None) == ""


@pytest.mark.parametrize("value, expected", [
    ("2024-01-01", "2024-01-01"), ("2024-1-5", "2024-01-05"), ("12-03-2024", "2024-03-12"), ("1/2/2024", "2024-02-01"),
    (dt.date(2024, 3, 12), "2024-03-12"), (dt.datetime(2024, 3, 12, 23, 59), "2024-03-12"), ("2024-03-12T10:00:00", "2024-03-12"),
    (None, None), ("  ", None),
])
def test_parse_day(value, expected):
    assert parse_day(value) == expected


@pytest.mark.parametrize("value", ["gisteren", "2024-13-01", "31-02-2024", "2024", 20240101])
def test_parse_day_refuses_what_is_no_day_in_dutch(value):
    with pytest.raises(VraagbaakError, match="is geen datum; schrijf bijvoorbeeld 2024-03-12"):
        parse_day(value, "since")


# ----------------------------------------------------------------- index

YEARS = ("2020-05-01", "2021-05-01", "2022-05-01", "2023-05-01", "2024-05-01")


@pytest.fixture
def dated(tmp_path):
    """The five default articles, one per year by file date, and a PDF that states its own date (2023-09-14) in a file of 2019."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for day, source in zip(YEARS, sorted((ROOT / "corpus").glob("*.txt"))):
        target = folder / source.name
        target.write_bytes(source.read_bytes())
        set_mtime(target, day)
    set_mtime(pdf_with(folder / "notitie.pdf", {"/CreationDate": "D:20230914100000+02'00'"}), "2019-01-01")
    return folder


def _dates(index) -> dict[str, str]:
    return {source: record.date for source, record in index.store.document_records.items()}


STORES = {
    "exact": lambda tmp: tmp / "idx",
    "hnsw": lambda tmp: FolderLocation(tmp / "idx", StoreSettings(ann_min_rows=10)),
    "milvus": lambda tmp: f"milvus:{tmp / 'vraagbaak.db'}",
}


@pytest.mark.parametrize("store", STORES)
def test_since_and_until_return_only_documents_of_those_days_and_k_hits_when_k_exist(fake, dated, tmp_path, store):
    index = build(dated, STORES[store](tmp_path))
    if store == "hnsw":
        assert index.store.ann_file  # the graph is what is being tested
    dates = _dates(index)
    assert sorted(dates.values()) == sorted([*YEARS, "2023-09-14"])
    assert dates["notitie.pdf"] == "2023-09-14"  # what the PDF states, not its file's 2019
    recent = {s for s, d in dates.items() if d >= "2022-05-01"}
    available = sum(index.store.document_records[s].rows for s in recent)
    for mode in ("hybrid", "dense"):
        k = min(20, available)
        hits = index.search("wat is preventie?", k=k, mode=mode, since="2022-05-01")
        assert len(hits) == k and {h.source for h in hits} <= recent
        assert all(h.date == dates[h.source] >= "2022-05-01" for h in hits)
    middle = index.search("sociaal werk", k=50, mode="dense", since=dt.date(2021, 1, 1), until="2022-12-31")
    assert {h.source for h in middle} == {s for s, d in dates.items() if "2021-01-01" <= d <= "2022-12-31"}
    assert index.search("sociaal werk", k=5, since="2030-01-01") == []
    unfiltered = index.search("sociaal werk", k=20, mode="dense")
    assert any(h.date < "2022-05-01" for h in unfiltered)  # the filter changed something


def test_a_date_filter_combines_with_the_others_and_refuses_an_empty_period(fake, dated, tmp_path):
    index = build(dated, tmp_path / "idx")
    hits = index.search("sociaal werk", k=10, types=["pdf"], since="2023-01-01")
    assert {h.source for h in hits} == {"notitie.pdf"}
    with pytest.raises(VraagbaakError, match="begindatum .2024-01-01. ligt na de einddatum .2023-01-01."):
        index.search("sociaal werk", since="2024-01-01", until="2023-01-01")
    with pytest.raises(VraagbaakError, match="is geen datum"):
        index.search("sociaal werk", since="vorig jaar")


def test_a_touched_file_keeps_its_date_and_a_changed_one_takes_its_new_one(fake, dated, tmp_path):
    build(dated, tmp_path / "idx")
    article = sorted(dated.glob("*.txt"))[0]
    set_mtime(article, "2024-12-24")  # the same text, touched
    changed = sorted(dated.glob("*.txt"))[1]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nEen nieuwe alinea.", encoding="utf-8")
    set_mtime(changed, "2025-01-02")
    dates = _dates(build(dated, tmp_path / "idx"))
    assert dates[article.name] == YEARS[0] and dates[changed.name] == "2025-01-02"


def _forget_dates_local(index_dir: Path) -> None:
    """Make the index look like one of an earlier version: no date column at all."""
    import json

    generation = json.loads((index_dir / "CURRENT").read_text())["generation"]
    with sqlite3.connect(index_dir / generation / "store.sqlite") as con:
        con.execute("ALTER TABLE documents DROP COLUMN date")


def _forget_dates_milvus(index) -> None:
    """Rewrite each document entity without its date, as an earlier version wrote them."""
    import json

    from vraagbaak.stores.milvus import DOCUMENT

    store = index.store
    client = store.location.client
    entities = client.query(store.collection, filter=f"kind == {DOCUMENT}", output_fields=["*"])
    for e in entities:
        data = json.loads(e["data"])
        data.pop("date")
        e["data"] = json.dumps(data)
        e.pop("sparse", None)
    client.upsert(store.collection, entities)
    meta = store.meta | {"commits": store.meta.get("commits", 0) + 1}  # readers re-read the documents
    from vraagbaak.stores.milvus import META, META_ID, _record_entity

    client.upsert(store.collection, [_record_entity(META, META_ID, "", meta, store.config.dimension)])


@pytest.mark.parametrize("store", ["exact", "milvus"])
def test_an_index_without_dates_gains_them_without_embedding_anything(fake, dated, tmp_path, store):
    from vraagbaak import Index

    spec = STORES[store](tmp_path)
    first = build(dated, spec)
    expected = _dates(first)
    if store == "milvus":
        _forget_dates_milvus(first)
        first.store.location.client.close()
    else:
        _forget_dates_local(tmp_path / "idx")
    old = Index.load(store=spec)
    assert set(_dates(old).values()) == {""}  # read as "no date", not an error
    assert old.search("sociaal werk", k=3, since="2000-01-01") == []  # undated documents pass no date filter
    if store == "milvus":
        old.store.location.client.close()
    fake.embedded.clear()
    again = build(dated, spec)
    r = again.report
    assert r.documents_dated == 6 and r.passages_embedded == 0 and r.sentences_embedded == 0 and fake.embedded == []
    assert r.model_loaded is False and r.documents_unchanged == 6
    assert _dates(again) == expected
    assert _dates(Index.load(store=spec)) == expected
    assert build(dated, spec).report.documents_dated == 0  # once


def test_hits_carry_their_document_date_in_json(fake, dated, tmp_path):
    from vraagbaak.search import hit_to_json

    index = build(dated, tmp_path / "idx")
    hit = index.search("sociaal werk", k=1, source="notitie.pdf")[0]
    assert hit.date == "2023-09-14" and hit_to_json(hit)["date"] == "2023-09-14"
