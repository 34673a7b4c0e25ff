"""Error types shared by every stage.

The split matters to callers: an :class:`InputError` means the user's input is wrong and a retry
cannot help (Airflow fails the run at once), while other errors may be transient and are retried.
Messages are one line and name the input and what is wrong with it.
"""


class Deck2VideoError(Exception):
    """Base class for every error the pipeline raises on purpose."""


class InputError(Deck2VideoError):
    """The deck, the voice recording or a setting is unusable as given."""


class ProcessingError(Deck2VideoError):
    """An external tool or service failed; retrying may help."""
