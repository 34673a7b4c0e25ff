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


class ProcessingError(Deck2VideoError):
    """An external tool or service failed; retrying may help."""


class BadOutputError(Deck2VideoError):
    """The output failed a check the run asked for (e.g. narration quality); making it again
    gives the same output, so it is not retried."""
