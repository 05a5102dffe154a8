"""The exceptions users see: their messages are meant to be shown as they are."""

__all__ = ["VraagbaakError", "IndexLoadError"]


class VraagbaakError(Exception):
    """A problem the user can fix (bad input, missing folder, stale index).

    The CLI prints ``str(error)`` on one line and exits with status 2; the web
    page shows it as a message. Programming errors stay ordinary exceptions.
    """


class IndexLoadError(VraagbaakError):
    """The index on disk is missing, damaged or was built differently: rebuild it."""

