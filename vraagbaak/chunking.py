"""Splitting a document into sentence-aligned passages.

Sentences come from pysbd (rule-based, offline, with Dutch abbreviation lists),
with two repairs on top, for splits inside one line: pysbd ends a sentence
after abbreviations it does not know ("ca. 5 mln. euro") and before inline
enumerations ("Dat is 1. goed en 2. slecht."). A Dutch sentence does not start
with a lower-case word and does end with . ! ? or …, so a split followed by a
lower-case word, or after a piece with no end punctuation, is undone.

Passages are packed from whole sentences up to a soft target size, never past
``max_chars`` (unless one sentence alone is longer) nor past the model's token
limit, start afresh at a heading (unless what came before is too short to
stand alone, like a title line), and repeat the last sentence of the previous
passage of the same section so an answer that straddles a boundary is whole in
one of them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Callable

__all__ = ["ChunkingSettings", "Passage", "split_sentences", "chunk_document", "embedding_text", "passage_context"]


@dataclass(frozen=True)
class ChunkingSettings:
    target_chars: int = 700  # close a passage once it is at least this long
    max_chars: int = 1200  # hard cap, except for a single longer sentence
    min_chars: int = 200  # a shorter passage is not closed at a heading
    overlap_sentences: int = 1  # sentences repeated from the previous passage
    max_tokens: int = 512  # the model's limit, prompt and title included
    title_in_passage: bool = True  # embed "title\npassage" rather than the passage alone
    heading_in_passage: bool = True  # and the section heading, where the passage does not begin with it (issue 22)
    # What BM25 indexes of a passage: Snowball stems of its words, and after them
    # the stems of each Dutch compound's parts (lexical.py, compounds.py; issue 37).
    # "" = the words only. A new value means new terms: an index built with another
    # (or by a version without this key) is split again by the next build, its
    # vectors reused by text key; until then questions are tokenized as its passages were.
    lexical_terms: str = "stems+compound-parts/wordfreq-3.1.1/zipf-3"
    # How files are read into text, titles and headings (readers.py, corpus.document_title).
    # A build re-reads only files whose bytes changed, so a reader fix would otherwise reach
    # an existing index file by file, as files happen to change. A new value here makes the
    # next build read and split every document again, reusing the vectors of unchanged texts
    # (the note it prints gives the time). Round 4: PDF titles over several lines joined,
    # first lines that break off continued, Markdown heading marks taken off (issue 38).
    reading: str = "round-4-titles"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Passage:
    start: int  # character offsets into the document text
    end: int
    text: str  # == document.text[start:end]
    heading: str  # the section heading above it, "" if none
    sentences: tuple[tuple[int, int], ...]  # absolute offsets of its sentences


_segmenter = None


def _fast_dutch():
    """pysbd's Dutch rules with a faster, equivalent abbreviation scan.

    pysbd tries each of its ~1,900 Dutch abbreviations on every line (a
    substring test, then several regexes for any abbreviation that occurs as
    a bare substring, so "a" or "ca" nearly always), which is most of its run
    time. Every replacement it makes needs the abbreviation directly followed
    by a period, so only abbreviations that end just before a period in the
    line can change anything: we find those with one pass over the periods
    and run pysbd's replacement for them, in pysbd's order, with its regexes
    compiled once (pysbd formats a new pattern per abbreviation and per
    sentence, which overflows Python's regex cache of 512 so that every line
    compiles its patterns anew). Output is identical
    (``tests/test_chunking.py`` compares both on real texts); about 5x faster.
    """
    from functools import lru_cache

    from pysbd.lang.dutch import Dutch

    @lru_cache(maxsize=None)
    def word_start(abbr):
        return re.compile(r"(?:^|\s|\r|\n){}".format(abbr), flags=re.IGNORECASE)

    @lru_cache(maxsize=None)
    def after_abbreviation(abbr):
        return re.compile(r"(?<={" + str(re.escape(abbr)) + "} ).{1}")  # literal braces, as in pysbd

    @lru_cache(maxsize=None)
    def period_of(abbr):
        return re.compile(
            r"(?<=\s{abbr})\.(?=((\.|\:|-|\?|,)|(\s([a-z]|I\s|I'm|I'll|\d|\())))".format(abbr=re.escape(abbr.strip()))
        )

    base = Dutch.AbbreviationReplacer

    class AbbreviationReplacer(base):
        _abbreviations = [a.strip() for a in Dutch.Abbreviation.ABBREVIATIONS]
        _known = frozenset(_abbreviations)
        _lengths = sorted({len(a) for a in _abbreviations})

        def search_for_abbreviations_in_string(self, text):
            lowered = text.lower()
            present = set()
            i = lowered.find(".")
            while i >= 0:
                for n in self._lengths:
                    if n > i:
                        break
                    if lowered[i - n : i] in self._known:
                        present.add(lowered[i - n : i])
                i = lowered.find(".", i + 1)
            for stripped in self._abbreviations if present else ():
                if stripped not in present:
                    continue
                matches = word_start(stripped).findall(text)
                next_chars = after_abbreviation(stripped).findall(text)
                for n, match in enumerate(matches):
                    text = self.scan_for_replacements(text, match, n, next_chars)
            return text

        def replace_period_of_abbr(self, txt, abbr):
            return period_of(abbr).sub("∯", " " + txt)[1:]

    class FastDutch(Dutch):
        pass

    FastDutch.AbbreviationReplacer = AbbreviationReplacer
    return FastDutch


def _fast_segmenter():
    """pysbd's Segmenter with the fast Dutch rules and a regex-free span search."""
    import pysbd
    from pysbd.utils import TextSpan

    class Segmenter(pysbd.Segmenter):
        def sentences_with_char_spans(self, sentences):
            # pysbd compiles re.escape(sentence) + r"\s*" for every sentence and
            # takes the first match ending after the previous span; str.find
            # walks the same non-overlapping matches.
            text, spans, prior_end = self.original_text, [], 0
            if any(not s for s in sentences):
                return super().sentences_with_char_spans(sentences)
            for sentence in sentences:
                position = 0
                while (start := text.find(sentence, position)) >= 0:
                    end = start + len(sentence)
                    while end < len(text) and text[end].isspace():  # \s of a str pattern is str.isspace
                        end += 1
                    if end > prior_end:
                        spans.append(TextSpan(text[start:end], start, end))
                        prior_end = end
                        break
                    position = end
            return spans

    segmenter = Segmenter(language="nl", clean=False, char_span=True)
    segmenter.language_module = _fast_dutch()
    return segmenter


def _pysbd(fast: bool = True):
    global _segmenter
    if not fast:  # the reference, for tests
        import pysbd

        return pysbd.Segmenter(language="nl", clean=False, char_span=True)
    if _segmenter is None:
        _segmenter = _fast_segmenter()
    return _segmenter


_LOWER_START = re.compile(r"[a-zà-ÿ]")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")


def split_sentences(text: str, _fast: bool = True) -> list[tuple[int, int]]:
    """(start, end) of every sentence, whitespace trimmed; lines never join."""
    spans: list[tuple[int, int]] = []
    segmenter = _pysbd(_fast)
    for block in re.finditer(r"[^\n]+", text):  # a line break always ends a sentence
        line_start = block.start()
        for seg in segmenter.segment(block.group()):
            start, end = line_start + seg.start, line_start + seg.end
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if start == end:
                continue
            same_line = spans and spans[-1][1] > line_start
            if same_line and (
                _LOWER_START.match(text, start) or not _SENTENCE_END.search(text, 0, spans[-1][1])
            ):
                spans[-1] = (spans[-1][0], end)  # "ca. 5 mln. | euro", "Dat is | 1. goed"
            else:
                spans.append((start, end))
    return spans


def _is_heading(text: str, span: tuple[int, int]) -> bool:
    """A short line of its own that does not end like a sentence, holds a word, and
    is no list item ("- geboortedatum" heads nothing: the passage after it is not
    about it; nor does a PDF's page number or table cell, "3235" or "3 4 2")."""
    start, end = span
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    own_line = not text[line_start:start].strip() and not text[end:line_end].strip()
    return (own_line and end - start <= 120 and text[end - 1] not in ".!?:;,)\"'”’"
            and not _LIST_ITEM.match(text, start) and _LETTER.search(text, start, end) is not None)


_LIST_ITEM = re.compile(r"[-–•*·▪◦]\s")
_LETTER = re.compile(r"[^\W\d_]")  # any letter, in any script


def _heading_test(text: str, headings: tuple[tuple[int, int], ...] | None) -> Callable[[tuple[int, int]], bool]:
    """Is a sentence span a heading: inside one of the marked ``headings``, or, without them, guessed."""
    if headings is None:
        return lambda span: _is_heading(text, span)
    from bisect import bisect_right

    starts = [a for a, _ in headings]

    def inside(span):
        i = bisect_right(starts, span[0]) - 1
        return i >= 0 and span[0] < headings[i][1]

    return inside


def looks_like_title(title: str) -> bool:
    """A real title is short and no full sentence; a first line that is the
    opening paragraph itself (common in FAQ answers) would only make every
    passage of the document look alike."""
    return 0 < len(title) <= 120 and title.rstrip()[-1:] not in ".!;,:"


def _heading_words(line: str) -> str:
    """A heading without its Markdown marks ("## Financiering" -> "Financiering")."""
    return re.sub(r"^#{1,6}[ \t]+", "", line)


def passage_context(title: str, heading: str, passage_text: str, settings: ChunkingSettings) -> list[str]:
    """The lines put in front of a passage for embedding and BM25: its document's
    title and its section heading, so that article 22 of a long law, or the third
    passage of a section, is not an anonymous paragraph (MTEB's LegalQA documents
    are "law, article" + text). Never a line the passage already opens with: a
    document's opening passage carrying its title twice looked like the best
    answer to every question about the title's words (issue 37)."""
    lines = []
    if settings.title_in_passage and looks_like_title(title) and not _opens_with(passage_text, title):
        lines.append(title)
    if settings.heading_in_passage and heading and heading != title and not _opens_with(passage_text, heading):
        lines.append(heading)
    return lines


_OPENING_CHARS = 300  # a title or heading this far into a passage is already in it (a date line, a subtitle before it)


def _opens_with(passage_text: str, line: str) -> bool:
    """Does the passage already show ``line`` near its start? Compared without case,
    Markdown marks, quotes or spacing; also when its first line is the title less a
    site name ("Wat is preventie?" under the page title "Wat is preventie? | Sociaal Werk Nederland")."""
    wanted = _comparable(line)
    opening = _comparable(_heading_words(passage_text[: _OPENING_CHARS + len(line)]))
    first_line = _comparable(_heading_words(passage_text.split("\n", 1)[0]))
    return bool(wanted) and (wanted in opening or (len(first_line) >= 12 and first_line in wanted))


def _comparable(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def embedding_text(title: str, passage_text: str, settings: ChunkingSettings, heading: str = "") -> str:
    """What the model embeds for a passage (the prompt is added by the model)."""
    return "\n".join([*passage_context(title, heading, passage_text, settings), passage_text])


def _split_long_sentence(text, span, fits):
    """Cut one sentence too long for the model at spaces (the only cut inside a sentence)."""
    start, end = span
    pieces, piece_start, last_ok = [], start, None
    for match in re.finditer(r"\S+", text[start:end]):
        candidate_end = start + match.end()
        if fits(piece_start, candidate_end) or last_ok is None:
            last_ok = candidate_end
            continue
        pieces.append((piece_start, last_ok))
        piece_start, last_ok = start + match.start(), candidate_end
    pieces.append((piece_start, end))
    return pieces


def chunk_document(
    text: str,
    title: str = "",
    settings: ChunkingSettings = ChunkingSettings(),
    count_tokens: Callable[[str], int] | None = None,
    headings: tuple[tuple[int, int], ...] | None = None,
) -> list[Passage]:
    """Pack the sentences of ``text`` into passages (see module docstring).

    ``headings``: the spans a structured format marks as headings (Word's
    "Heading 1", HTML's <h2>); without them, headings are guessed from the text.
    """
    packer = _Packer(text, title, settings, count_tokens, _heading_test(text, headings))
    sentences: list[tuple[tuple[int, int], bool]] = []  # all split first: a sentence is measured without a section heading
    for span in split_sentences(text):
        if packer.fits_model(*span):
            sentences.append((span, packer.is_heading(span)))
        else:
            sentences.extend((piece, False) for piece in _split_long_sentence(text, span, packer.fits_model))
    for span, is_heading in sentences:
        packer.add(span, is_heading)
    return packer.finish()


class _Packer:
    """The state of ``chunk_document`` as it walks the sentences: the passages
    closed so far, the sentences of the open one, and the section they are in."""

    def __init__(self, text: str, title: str, settings: ChunkingSettings, count_tokens, is_heading):
        self.text, self.title, self.settings = text, title, settings
        self.count_tokens, self.is_heading = count_tokens, is_heading
        self.passages: list[Passage] = []
        self.current: list[tuple[int, int]] = []  # sentence spans of the open passage
        self.current_heading = ""  # the heading the open passage is shown under
        self.section_heading = ""  # the last heading seen
        self.has_body = False  # current holds more than headings and overlap

    def fits_model(self, start: int, end: int) -> bool:
        if self.count_tokens is None:
            return True
        context = embedding_text(self.title, self.text[start:end], self.settings, self.section_heading)
        return self.count_tokens(context) <= self.settings.max_tokens

    def fits(self, start: int, end: int) -> bool:
        return end - start <= self.settings.max_chars and self.fits_model(start, end)

    def add(self, span: tuple[int, int], is_heading: bool) -> None:
        if is_heading:
            self._add_heading(span)
            return
        current = self.current
        if current and self.has_body and (
            not self.fits(current[0][0], span[1]) or current[-1][1] - current[0][0] >= self.settings.target_chars
        ):
            self._flush()
            keep = current[-self.settings.overlap_sentences :] if self.settings.overlap_sentences else []
            # The overlap must leave room for the new sentence, else it is dropped.
            self.current = [s for s in keep if self.fits(s[0], span[1])]
            self.current_heading = self.section_heading
        self.current.append(span)
        self.has_body = True

    def _add_heading(self, span: tuple[int, int]) -> None:
        current = self.current
        words = _heading_words(self.text[span[0] : span[1]])
        if self.has_body and current[-1][1] - current[0][0] < self.settings.min_chars and self.fits(current[0][0], span[1]):
            # Too little text to stand alone (a title, a one-line intro):
            # the heading and its section join it instead.
            self.section_heading = words
            current.append(span)
            return
        if self.has_body:
            self._flush()
        elif current and not self.is_heading(current[-1]):
            self.current = []  # only overlap so far: a new section drops it
        self.section_heading = self.current_heading = words
        self.current.append(span)

    def _flush(self) -> None:
        if self.current and self.has_body:
            start, end = self.current[0][0], self.current[-1][1]
            self.passages.append(Passage(start, end, self.text[start:end], self.current_heading, tuple(self.current)))
        self.current, self.has_body = [], False

    def finish(self) -> list[Passage]:
        if self.current and not self.has_body and not self.passages:
            self.has_body = True  # a document that is only a heading is still searchable
        self._flush()
        return self.passages
