"""Every message a user can meet as an error, warning or note, in Dutch: one place to read and change them.

The page is Dutch and so are the people who use it; the CLI speaks to the same
people (its ``--help`` may stay English). A message says what happened, plainly
and politely, and what to do next. File names, commands (``python -m vraagbaak
build --corpus … --index …``), option names and environment variables are kept
literally, so that they can be copied.

Call sites raise ``VraagbaakError(messages.corpus_missing(folder))``; a test
(tests/test_messages.py) refuses a literal text in a raise anywhere else.
Commands in messages are made by the caller (``Location.build_command``): this
module imports nothing from the package, so any module may import it.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ACCOUNT_GONE", "AS_IS_NEEDS_INDEX", "DELETE_NEEDS_YES", "EDITORS_ONLY", "EMPTY_QUESTION", "EVAL_NEEDS_CORPUS", "INTERRUPTED",
    "JUDGMENTS_EDITORS_ONLY", "JUDGMENT_NOT_SHOWN", "K_OUT_OF_RANGE", "LOGINS_BUSY", "LOGIN_FROM_ELSEWHERE", "LOGIN_WRONG",
    "LOGOUT_BY_BUTTON", "LOG_IN_FIRST", "MILVUS_FEEDBACK_NEEDS_FOLDER", "MILVUS_NEEDS_URI", "NOT_FOUND", "NOT_UPLOADED",
    "NO_INDEX_YET", "OTHER_SESSION", "PASSWORD_TOO_SHORT", "PASTE_THE_TEXT", "POINTER_MISSING", "POINTER_UNREADABLE",
    "QUESTION_ANSWER_EMPTY", "QUESTION_NOT_AN_OBJECT", "QUESTION_QUERY_EMPTY", "QUESTION_SOURCES_EMPTY", "REQUEST_TOO_LARGE",
    "SHARED_STATES_OFF", "SOURCE_NOT_OPENABLE", "UPDATE_CRASHED", "WATCHING_CRASHED", "adopted_generation", "all_is_well",
    "backend_differs", "bad_question_lines", "bad_since", "bad_user_name", "bm25_choice", "choose_a_file",
    "converting_bundled_model", "corpus_missing", "duplicate_upload", "error_line", "file_type_unreadable",
    "generation_cannot_be_read", "generation_fails_integrity", "generation_file_missing", "health_count_mismatch",
    "health_current_missing", "health_current_unsound", "health_generation_problem", "health_left_over", "health_no_generation",
    "index_damaged", "index_folder_is_a_file", "index_folder_not_writable", "index_format_differs", "index_is_a_file",
    "index_missing", "index_model_differs", "index_model_missing", "index_model_not_loadable", "index_opened", "index_unreadable",
    "judgments_not_emptied", "judgments_not_kept", "judgments_not_written", "judgments_unreadable", "making_openvino_model",
    "milvus_bad_name", "milvus_cannot_open", "milvus_failed", "milvus_folder_not_made", "milvus_foreign_collection",
    "milvus_index_missing", "model_dimension_differs", "model_missing_rebuilding", "model_not_loadable", "no_file_events",
    "no_judgments", "no_questions", "no_readable_files", "no_token_states", "no_user", "no_users", "not_a_date",
    "not_a_precision", "not_added", "not_uploaded_here", "open_host_needs_accounts", "openvino_bundled_only", "problem_line",
    "question_file_unreadable", "question_line", "question_too_long", "rebuilding_unreadable_index", "repaired", "resplit",
    "since_after_until", "skipped", "too_many_attempts", "too_many_same_name", "unknown_backend", "unknown_document",
    "unknown_filter_value", "unknown_fusion", "unknown_judgment", "unknown_mode", "unknown_role", "unreadable_upload",
    "update_failed", "upload_folder_missing", "upload_too_big", "user_exists", "users_file_unreadable", "with_log",
]


def _choices(items: Iterable[str], last: str = "of") -> str:
    """"a, b of c": a choice as a Dutch sentence says it."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _thousands(n: int) -> str:
    """12.345: the Dutch thousands separator."""
    return f"{n:,}".replace(",", ".")


# ------------------------------------------------------------------ the CLI's own lines
# How the CLI shows an error (one line, exit status 2), a Ctrl-C and `check`'s findings.


def error_line(error: object) -> str:
    return f"fout: {error}"


INTERRUPTED = ("onderbroken; de index houdt wat al was vastgelegd (een build gaat bij de volgende keer verder "
               "vanaf zijn laatste tussenstand)")


def problem_line(problem: str) -> str:
    return f"probleem: {problem}"


def all_is_well(index: object) -> str:
    return f"{index}: alles in orde"


def open_host_needs_accounts(host: str) -> str:
    return (f"--host {host} laat andere computers toe; geef --users FILE (accounts), of --open als iedereen "
            "op het netwerk elk document mag lezen")


def no_users(path: object) -> str:
    return f"{path} bevat geen gebruikers; voeg er een toe met: python -m vraagbaak users add NAAM --role redacteur --users {path}"


AS_IS_NEEDS_INDEX = "--as-is meet een bestaande index zoals hij is: geef die met --index, zonder --corpus"
EVAL_NEEDS_CORPUS = ("geef met --corpus de map met teksten waarover de vragen gaan, of meet een bestaande index "
                     "met --index I --as-is")


# ------------------------------------------------------------------ the corpus folder and uploads
# A folder that is not there, a file that cannot be read or added (uploads are refused on the page).


def corpus_missing(folder: object) -> str:
    return f"de map met teksten bestaat niet: {folder}; geef de juiste map met --corpus"


def upload_folder_missing(folder: object) -> str:
    return f"de map met teksten bestaat niet: {folder}"


def no_readable_files(suffixes: Iterable[str]) -> str:
    return f"De map met teksten bevat geen leesbare bestanden ({', '.join(suffixes)})."


def file_type_unreadable(suffix: str, suffixes: Iterable[str]) -> str:
    return f"{suffix}-bestanden kunnen niet worden gelezen; wel {', '.join(suffixes)}"


def duplicate_upload(file_name: str, same: str) -> str:
    return f"{file_name} staat er al in: de inhoud is gelijk aan {same}; niets opgeslagen"


def upload_too_big(file_name: str, mb: str, limit_mb: int) -> str:
    return f"{file_name} is {mb} MB; maximaal {limit_mb} MB per bestand van dit type"


def unreadable_upload(file_name: str, reason: str) -> str:
    return f"{file_name} is niet leesbaar: {reason}"


def too_many_same_name(file_name: str) -> str:
    return f"te veel bestanden met de naam {file_name}; geef het bestand een andere naam"


def skipped(source: str, reason: str) -> str:
    """A file a build or watcher leaves out (the page says it the same way)."""
    return f"Overgeslagen: {source}: {reason}"


def no_file_events(folder: object, why: str, seconds: float) -> str:
    """A watcher that gets no file events (``why``) and scans the folder instead."""
    return f"Map {folder}: {why}; de map wordt elke {seconds:.0f} s gescand"


def index_opened(index: object, passages: int) -> str:
    # app.py with a watcher: the page answers from the index as it is; the watcher's first scan then follows the folder
    return f"Index {index}: {passages} passages; de map wordt nagekeken terwijl de pagina al antwoordt."


def update_failed(error: object) -> str:
    return f"Bijwerken lukte niet: {error}"


# A bug, not the user's doing: logged with its traceback, and the watcher goes on
WATCHING_CRASHED = "het volgen van de map met teksten liep vast door een fout in Vraagbaak"
UPDATE_CRASHED = "het bijwerken van de index liep vast door een fout in Vraagbaak"


def with_log(reason: str, log: object) -> str:
    """A reader that failed (not a bad file): one line to the user, the traceback in the log."""
    return f"{reason}; de details staan in {log}"


# ------------------------------------------------------------------ questions and filters
# What a search refuses; the page shows these as they are.

EMPTY_QUESTION = "Typ eerst een vraag, bijvoorbeeld: wat is preventie?"
NO_INDEX_YET = "Er is nog geen index: voeg teksten toe en werk de index bij."
K_OUT_OF_RANGE = "Het aantal resultaten (k) is een heel getal van 1 tot en met 100."


def question_too_long(length: int, limit: int) -> str:
    return f"De vraag is {length} tekens lang; stel hem in hoogstens {limit} tekens."


def unknown_mode(mode: object, modes: Iterable[str]) -> str:
    return f"Onbekende zoekwijze {mode!r}; kies {_choices(modes)}."


def unknown_fusion(fusion: object, fusions: Iterable[str]) -> str:
    return f"Onbekende manier van samenvoegen (fusion) {fusion!r}; kies {_choices(fusions)}."


def unknown_document(source: str) -> str:
    return f"Het document {source!r} staat niet in de index."


def unknown_filter_value(what: str, value: str, known: Iterable[str], plural: str) -> str:
    """``what``: "de map", "het bestandstype"; ``known``: what the index does have."""
    known = sorted(known)
    have = f"wel: {', '.join(known)}" if known else f"er zijn geen {plural}"
    return f"{what.capitalize()} {value!r} staat niet in de index ({have})."


def not_a_date(what: str, value: object) -> str:
    return f"{what} {str(value)[:40]!r} is geen datum; schrijf bijvoorbeeld 2024-03-12 of 12-03-2024"


def since_after_until(since: str, until: str) -> str:
    return f"de begindatum ({since}) ligt na de einddatum ({until})"


# ------------------------------------------------------------------ the page and its server
# What the page, its login and its routes refuse; "je", as the page speaks to its users.

EDITORS_ONLY = "Alleen een redacteur mag teksten toevoegen en de index bijwerken."
JUDGMENTS_EDITORS_ONLY = "Alleen een redacteur mag de oordelen over resultaten inzien."
ACCOUNT_GONE = "Log opnieuw in: dit account bestaat niet (meer)."
LOG_IN_FIRST = "Log eerst in."
OTHER_SESSION = "Deze sessie hoort bij een ander account: laad de pagina opnieuw."
NOT_UPLOADED = "Dit bestand is niet via deze pagina geüpload; upload het opnieuw."
SOURCE_NOT_OPENABLE = "Dit bestand staat niet in de index, of mag niet worden geopend."
LOGIN_FROM_ELSEWHERE = "Inloggen kan alleen vanaf de inlogpagina van Vraagbaak zelf."
LOGINS_BUSY = "Er wordt nu erg vaak tegelijk ingelogd. Wacht een paar seconden en probeer het opnieuw."
LOGIN_WRONG = "Naam of wachtwoord klopt niet."
LOGOUT_BY_BUTTON = "Uitloggen gaat met de knop op de pagina."
SHARED_STATES_OFF = "Gedeelde paginastanden staan uit."
NOT_FOUND = "Niet gevonden."
REQUEST_TOO_LARGE = "Dit verzoek is te groot."
PASTE_THE_TEXT = "Niet toegevoegd: plak ook de tekst zelf, niet alleen een titel."
JUDGMENT_NOT_SHOWN = ("Dit resultaat is je niet getoond bij deze vraag (of het is te lang geleden): zoek de vraag opnieuw "
                      "en geef dan je oordeel.")


def too_many_attempts(wait: str) -> str:
    """``wait``: how long, in words ("een minuut")."""
    return f"Te veel mislukte pogingen. Wacht {wait} en probeer het dan opnieuw."


def choose_a_file(suffixes: Iterable[str]) -> str:
    return f"Kies een bestand ({', '.join(suffixes)}) of plak een tekst."


def not_added(problem: object) -> str:
    return f"Niet toegevoegd: {problem}"


def not_uploaded_here(name: str) -> str:
    return not_added(f"{name}: dit bestand is niet via deze pagina geüpload; upload het opnieuw.")


def unknown_judgment(judgment: object) -> str:
    return f"Onbekend oordeel {str(judgment)[:40]!r}: kies positive of negative."


# ------------------------------------------------------------------ the index on disk or in Milvus
# Missing, damaged, of another format or unwritable: each with the command that makes it right.


def index_missing(where: object, command: str) -> str:
    return f"er is geen index in {where}; maak hem met: {command}"


def index_damaged(where: object, why: str, command: str) -> str:
    return f"de index in {where} is beschadigd ({why}); bouw hem opnieuw met: {command}"


def index_unreadable(where: object, why: str) -> str:
    return f"de index {where} kan niet worden gelezen: {why}"


def index_format_differs(where: object, version: object, reads: object, command: str) -> str:
    return (f"de index in {where} heeft formaatversie {version}, deze Vraagbaak leest versie {reads}; "
            f"bouw hem opnieuw met: {command}")


def index_is_a_file(root: object) -> str:
    return f"{root} is een bestand, geen indexmap; maak een index met: python -m vraagbaak build --index MAP"


def index_folder_is_a_file(root: object) -> str:
    return f"--index {root} is een bestand, geen map: kies een map voor de index"


def index_folder_not_writable(root: object, why: object) -> str:
    return f"er kan niet worden geschreven in de indexmap {root}: {why}; kies een map waarin u mag schrijven"


def rebuilding_unreadable_index(error: object) -> str:
    return f"let op: {error}; er wordt een nieuwe index gemaakt"


def repaired(what: str) -> str:
    return f"hersteld: {what}"


def adopted_generation(current_file: str, adopted: str) -> str:
    return f"{current_file} wees geen gave generatie aan; de nieuwste gave generatie, {adopted}, wordt gebruikt"


def resplit(changed: Iterable[str], minutes: int, passages: int) -> str:
    """A build that reads and splits every document again (other passage settings); ``minutes`` 0: under a minute."""
    took = f"ongeveer {minutes} min" if minutes else "minder dan een minuut"
    return (f"let op: de index is gemaakt met andere instellingen voor passages ({', '.join(changed)}); elk document wordt "
            f"opnieuw gelezen en gesplitst, en de vectoren van ongewijzigde teksten worden hergebruikt: {took} "
            f"voor {_thousands(passages)} passages op 2 kernen (ongeveer 30 min per miljoen), plus het inbedden van de passages waarvan "
            f"de tekst is gewijzigd. De oude index blijft antwoorden tot de nieuwe klaar is.")


# `vraagbaak check`: one line per problem, each ending in the command that repairs it


def generation_file_missing(generation: str, file: str) -> str:
    return f"{generation}/{file} ontbreekt"


def generation_fails_integrity(generation: str, file: str, verdict: str) -> str:
    return f"{generation}/{file} doorstaat de integriteitscontrole van SQLite niet ({verdict})"


def generation_cannot_be_read(generation: str, why: str) -> str:
    return f"{generation} kan niet worden gelezen ({why})"


POINTER_MISSING = "ontbreekt"  # CURRENT or NEXT, said after its path
POINTER_UNREADABLE = "kan niet worden gelezen"


def health_current_unsound(root: object, current_file: str, why: str, command: str) -> str:
    return f"{root}/{current_file} {why}; herstel het met: {command}"


def health_current_missing(root: object, current_file: str, generation: str, command: str) -> str:
    return f"{root}/{current_file} wijst {generation} aan, maar die ontbreekt; herstel het met: {command}"


def health_generation_problem(root: object, problem: str, command: str) -> str:
    return f"{root}: {problem}; herstel het met: {command}"


def health_left_over(root: object, generation: str, command: str) -> str:
    return f"{root}: {generation} is overgebleven van een onderbroken build; herstel het met: {command}"


def health_count_mismatch(root: object, generation: str, rows: int, file: str, expected: int, command: str) -> str:
    return (f"{root}: {generation} heeft {rows} passages in {file}, maar de tellers zeggen {expected}; "
            f"herstel het met: {command}")


def health_no_generation(root: object, command: str) -> str:
    return f"{root} bevat geen generatie van de index; herstel het met: {command}"


# Milvus: the address, the collection name, and a server that fails

MILVUS_NEEDS_URI = "--store milvus: heeft een adres nodig: milvus:./vraagbaak.db of milvus:http://host:19530"


def milvus_bad_name(name: str) -> str:
    return f"indexnaam {name!r}: gebruik letters, cijfers en _ (zoals in Milvus-collectienamen), te beginnen met een letter"


def milvus_failed(where: object, why: str) -> str:
    return f"Milvus op {where} gaf een fout: {why}"


def milvus_cannot_open(uri: object, why: str) -> str:
    return f"Milvus op {uri} kan niet worden geopend: {why}"


def milvus_folder_not_made(uri: object, why: object) -> str:
    return f"de map van {uri} kan niet worden gemaakt: {why}"


def milvus_foreign_collection(name: str, uri: object) -> str:
    return (f"{name!r} in {uri} is een Milvus-collectie die Vraagbaak niet heeft gemaakt; "
            f"kies een andere indexnaam: milvus:{uri}#NAME")


def milvus_index_missing(name: str, uri: object, command: str) -> str:
    return f"er is geen index {name!r} in {uri}; maak hem met: {command}"


def bm25_choice(env: str, value: object) -> str:
    return f"{env}={value!r}: kies project of milvus"


# ------------------------------------------------------------------ the model and how it runs
# An index is searched with the model (and runtime) that built it.


def model_not_loadable(name: str, why: str) -> str:
    return f"het model {name!r} kan niet worden geladen: {why}"


def index_model_differs(where: object, built: str, wanted: str, command: str) -> str:
    return f"de index in {where} is gemaakt met model {built!r}, niet met {wanted!r}; bouw hem opnieuw met: {command}"


def index_model_not_loadable(where: object, model: str, why: object, command: str) -> str:
    return (f"de index in {where} is gemaakt met model {model!r}, dat hier niet kan worden geladen ({why}); "
            f"installeer dat model, of bouw de index opnieuw met het meegeleverde model: {command}")


def index_model_missing(where: object, model: str, command: str) -> str:
    return (f"de index in {where} is gemaakt met model {model!r}, dat hier niet te vinden is; "
            f"bouw hem opnieuw met het meegeleverde model: {command}")


def model_missing_rebuilding(model: str, bundled: str) -> str:
    return (f"let op: de index is gemaakt met model {model!r}, dat hier niet te vinden is; "
            f"hij wordt opnieuw gemaakt met het meegeleverde model {bundled}")


def model_dimension_differs(where: object, model: str, dimension: int, used: str, used_dimension: int, command: str) -> str:
    return (f"de index in {where} is gemaakt met model {model!r} (dimensie {dimension}), niet met {used!r} "
            f"(dimensie {used_dimension}); bouw hem opnieuw met: {command}")


def backend_differs(where: object, built: str, used: str, command: str, *, agreement: float | None = None,
                    needed: float = 0.0, search_with: str | None = None, without_env: str | None = None) -> str:
    """Another runtime than the index's: ``search_with`` the one to use instead, or ``without_env``
    the variable that chose another precision; ``agreement``: the cosine of their probe vectors."""
    differ = "" if agreement is None else f", waarvan de vectoren hier van de zijne verschillen (cosinus {agreement:.3f}, minstens {needed} nodig)"
    instead = (f"zoek erin zonder {without_env}, of " if without_env else f"zoek erin met --backend {search_with}, of " if search_with
               else "")
    return f"de index in {where} is gemaakt met de backend {built}, niet met {used}{differ}; {instead}bouw hem opnieuw met: {command}"


def unknown_backend(choice: object, backends: Iterable[str]) -> str:
    hint = " (de onnx-backend is vervangen door openvino: sneller, int8; zie BENCHMARKS.md)" if choice == "onnx" else ""
    return f"onbekende backend {choice!r}; kies {_choices(backends)}{hint}"


def openvino_bundled_only(name: str) -> str:
    return f"de OpenVINO-backend is alleen gemaakt voor het meegeleverde model; gebruik --backend torch voor {name!r}"


def not_a_precision(env: str, chosen: object, precisions: Iterable[str]) -> str:
    return f"{env}={chosen!r} is geen precisie; kies {_choices(precisions)}"


def no_token_states(model: str, command: str) -> str:
    return (f"de zinsvectoren van de index komen uit de tokentoestanden van hun passages, en die geeft model {model!r} "
            f"hier niet; bouw de index opnieuw met: {command}")


def converting_bundled_model(folder: object) -> str:
    return f"Het meegeleverde model multilingual-e5-small wordt eenmalig omgezet in {folder} (ongeveer 20 s)…"


def making_openvino_model(precision: str, folder: object) -> str:
    return f"Het {precision}-model wordt eenmalig gemaakt in {folder} (ongeveer een minuut)…"


# ------------------------------------------------------------------ accounts
# `vraagbaak users …` and the users file the page reads.

PASSWORD_TOO_SHORT = "een wachtwoord heeft minstens 8 tekens"


def users_file_unreadable(path: object, why: object) -> str:
    return f"het gebruikersbestand {path} kan niet worden gelezen: {why}"


def unknown_role(role: object, roles: Iterable[str]) -> str:
    return f"onbekende rol {role!r}; kies {_choices(roles)}"


def user_exists(name: str) -> str:
    return f"gebruiker {name!r} bestaat al; verander het wachtwoord met: users passwd {name}"


def no_user(name: str, path: object) -> str:
    return f"er is geen gebruiker {name!r} in {path}"


def bad_user_name(name: str) -> str:
    return f"een gebruikersnaam is een woord zonder spaties aan het begin of eind, zonder ':' en zonder schuine strepen; {name!r} is dat niet"


# ------------------------------------------------------------------ judgments (feedback)
# The judgments file a page started with --feedback keeps, and `vraagbaak feedback …`.

MILVUS_FEEDBACK_NEEDS_FOLDER = "een Milvus-index heeft geen map van Vraagbaak: geef een map voor de oordelen met --feedback PATH"
DELETE_NEEDS_YES = "voeg --yes toe om alle oordelen te verwijderen zonder dat ernaar wordt gevraagd"


def no_judgments(folder: object, file: str) -> str:
    return f"geen oordelen in {folder} (geen {file}): de pagina bewaart ze alleen als ze met --feedback is gestart"


def bad_since(value: str) -> str:
    return (f"--since {value!r}: geef een datum (2026-01-31), een datum en tijd (2026-01-31T09:00) "
            "of een aantal dagen (30d)")


def judgments_not_kept(folder: object, why: object) -> str:
    return f"de oordelen kunnen niet worden bewaard in {folder}: {why}"


def judgments_unreadable(path: object, why: object) -> str:
    return f"het oordelenbestand {path} kan niet worden gelezen: {why}"


def judgments_not_written(path: object, why: object) -> str:
    return f"er kan niet worden geschreven in het oordelenbestand {path}: {why}"


def judgments_not_emptied(path: object, why: object) -> str:
    return f"het oordelenbestand {path} kan niet worden geleegd: {why}"


# ------------------------------------------------------------------ question files (`vraagbaak eval`)
# Each bad line is named by its number, so that it can be found and fixed.

QUESTION_NOT_AN_OBJECT = "geen JSON-object"
QUESTION_QUERY_EMPTY = "'query' moet een tekst zijn die niet leeg is"
QUESTION_SOURCES_EMPTY = "'sources' moet een niet-lege lijst van bestandsnamen zijn"
QUESTION_ANSWER_EMPTY = "'answer' moet, als die er is, een tekst zijn die niet leeg is"


def question_file_unreadable(path: object, why: object) -> str:
    return f"het vragenbestand {path} kan niet worden gelezen: {why}"


def question_line(number: int, problem: object) -> str:
    return f"regel {number}: {problem}"


def bad_question_lines(path: object, problems: list[str]) -> str:
    return f"{path}: {len(problems)} {'foute regel' if len(problems) == 1 else 'foute regels'}: " + "; ".join(problems[:10])


def no_questions(path: object) -> str:
    return f"{path} bevat geen vragen"
