"""Dutch compound splitting for BM25: ``tuinbed`` is also ``tuin`` and ``bed``.

Dutch closes its compounds (zorgverzekeringswet, schuldhulpverlening,
tuinbed), so a question about "hulp bij schulden" shares no word with a
passage about schuldhulpverlening. ``lexical.tokenize`` gives BM25 each
compound and its parts, for the passages and the question alike (as
Lucene's dictionary decompounder does for German): the whole word still
matches itself, and a part matches the part.

Which words are words comes from a fixed list: wordfreq's Dutch word
frequencies (its "large" list, frequencies from subtitles, Wikipedia, news
and web text; fixed at wordfreq 3.1.1, Apache-2.0 code, CC BY-SA data). A
vocabulary taken from the corpus itself would change as files come and go
and leave the terms stored for the other passages stale. Debian's
hunspell-nl was measured as the other candidate (BENCHMARKS.md, round 4):
it lists lemmas without their inflected forms ("bedden") and without
frequencies, which the choice below needs.

A word is split as Koehn & Knight (2003, "Empirical methods for compound
splitting") do: of every way to write it as known words, each of at least
three letters, joined directly or by a linking "s", "e" or "en"
(zorgverzekering+s+wet, boek+en+kast), take the one whose parts have the
highest geometric mean frequency. The word itself, unsplit, is one of those
ways, so a common word stays whole (verzekering is not ver+zekering, kinderen
not kind+eren). Parts are content words: no stop word, no separable-verb
particle or prefix (aan+vraag, af+spraak, toe+slagen, ver+lening) and no
derivational suffix that happens to be a word (vriende+lijk, werk+loos).
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

__all__ = ["SOURCE", "dutch_stop_words", "split_compound", "vocabulary"]

SOURCE = "wordfreq-3.1.1-nl-large"  # recorded with the index's terms: another list means other terms
MIN_HEAD = 3  # letters of the last part: bed, wet, dak
MIN_MODIFIER = 4  # letters of a part before it: "man"+"tel"+"zorg" is no way to write mantelzorg
# wordfreq's large list goes down to Zipf 1 (once in 100 million words), where
# typos, abbreviations and fragments live ("toes", "uitg", "regis"); a part
# must be a common word: read at least once in a million words (Zipf 3, the
# usual bound of a "known" word in word-frequency norms such as SUBTLEX).
MIN_FREQUENCY = 10 ** (3 - 9)
MAX_LETTERS = 40  # longer "words" are codes or URLs, not compounds
LINKS = ("", "s", "e", "en")  # the linking sounds of Dutch compounds ("tussenklanken")

# Not parts of a compound: particles and prefixes that make derived words
# (aanvraag is no aan+vraag, uitkering no uit+kering), and suffixes that are
# also words or frequent fragments (vriendelijk is no vriende+lijk, werkers no
# werk+ers). A fixed list of the language, not fitted on any set.
_NOT_A_MODIFIER = frozenset(
    "aan achter af bij binnen boven buiten door her in langs mee mis na neer om on ont onder op over samen tegen terug "
    "toe uit ver voor voorbij weg".split()
)
# Function words the stop list (bm25s's 101 Dutch words) leaves out: no part
# of a compound either (gemeenten is no gemeen+ten, register no regis+ter).
_FUNCTION_WORDS = frozenset("den des dus erg even heel hen jij jou jouw nee per pas ten ter toch wel wij zeer".split())
_NOT_A_HEAD = frozenset("atie baar dom ers heid ing isme iteit lijk ling loos schap zaam".split())

_lock = threading.Lock()
_words: dict[str, float] | None = None


@lru_cache(maxsize=1)
def dutch_stop_words() -> frozenset[str]:
    """bm25s's 101 Dutch stop words, without importing the bm25s package: its
    ``__init__`` imports scipy.sparse, 0.2 s of the model's warm-up at an app's
    start (which holds the GIL while gradio is imported) for a list of words.
    Loaded from the installed package's own file."""
    import importlib.util
    import sys

    if "bm25s.stopwords" in sys.modules:
        return frozenset(sys.modules["bm25s.stopwords"].STOPWORDS_DUTCH)
    origin = importlib.util.find_spec("bm25s").origin  # finding a package does not run its __init__
    spec = importlib.util.spec_from_file_location("vraagbaak._bm25s_stopwords", origin.replace("__init__.py", "stopwords.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return frozenset(module.STOPWORDS_DUTCH)


def vocabulary() -> dict[str, float]:
    """word -> frequency of the Dutch words a compound part may be (loaded once, ~0.5 s)."""
    global _words
    with _lock:
        if _words is None:
            from wordfreq import get_frequency_dict

            stop = dutch_stop_words() | _FUNCTION_WORDS
            _words = {w: f for w, f in get_frequency_dict("nl", "large").items()
                      if f >= MIN_FREQUENCY and len(w) >= MIN_HEAD and w.isalpha() and w not in stop}
    return _words


@lru_cache(maxsize=200_000)  # a corpus repeats its words; the cache holds a few tens of MB at most
def split_compound(word: str) -> tuple[str, ...]:
    """The parts of a lower-case Dutch compound, or () when it is best left whole.

    Two parts where the word can be written as two (zorgverzekering+wet, not
    zorg+verzekering+wet: more and shorter parts would always win on
    frequency, "gemeente+best+uur"); three only where it cannot.
    """
    if not MIN_MODIFIER + MIN_HEAD <= len(word) <= MAX_LETTERS or not word.isalpha():
        return ()
    words = vocabulary()
    splits = list(_two_parts(word, words)) or [(m, *tail) for m, rest in _two_parts(word, words, whole_head=False)
                                               for tail in _two_parts(rest, words)]
    if not splits:
        return ()
    best = max(splits, key=lambda parts: _mean_log(parts, words))
    whole = words.get(word)
    return best if whole is None or _mean_log(best, words) > math.log(whole) else ()


def _mean_log(parts: tuple[str, ...], words: dict[str, float]) -> float:
    return sum(math.log(words[p]) for p in parts) / len(parts)  # the log of the geometric mean


def _two_parts(word: str, words: dict[str, float], whole_head: bool = True):
    """(modifier, head) for every way to write ``word`` as a known modifier, a linking
    sound and a head; with ``whole_head`` False, the head need not be a known word."""
    for cut in range(MIN_MODIFIER, len(word) - MIN_HEAD + 1):
        modifier = word[:cut]
        if modifier not in words or modifier in _NOT_A_MODIFIER:
            continue
        for link in LINKS:
            if not word.startswith(link, cut):
                continue
            head = word[cut + len(link):]
            if len(head) >= MIN_HEAD and (not whole_head or (head in words and head not in _NOT_A_HEAD)):
                yield modifier, head
