"""Error types shared by every stage.

The split matters to callers: an :class:`InputError` means the user's input is wrong and a retry
cannot help (Airflow fails the run at once), and so does a :class:`BadOutputError` (the output
was made, but misses what the run asked of it); other errors may be transient and are retried.
Messages are one line and name the input and what is wrong with it.
"""


class Deck2VideoError(Exception):
    """Base class for every error the pipeline raises on purpose."""


class InputError(Deck2VideoError):
    """The deck, the voice recording or a setting is unusable as given."""


class SettingError(Deck2VideoError, ValueError):
    """A deployment setting (``DECK2VIDEO_*``) is unusable: the operator's to fix, not the user's,
    so Airflow retries it (a retry after the fix succeeds) and the CLI reports it in one line."""


class ProcessingError(Deck2VideoError):
    """An external tool or service failed; retrying may help."""


class BadOutputError(Deck2VideoError):
    """The output failed a check the run asked for (e.g. narration quality); making it again
    gives the same output, so it is not retried."""
