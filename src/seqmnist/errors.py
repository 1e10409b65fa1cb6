"""Errors a user can fix (the CLI prints them as one paragraph instead of a traceback) and the
exit codes that end a run."""

import signal

USER_ERROR_EXIT_CODE = 2
# the shell's convention for "ended by SIGTERM", so schedulers and scripts see a failed run (a gap
# in Lightning 2.6: it exits 1 as for any error, or 0 when its evaluation loop ignores the signal)
TERMINATED_EXIT_CODE = 128 + signal.SIGTERM
# and for "ended by SIGINT": Ctrl-C that reaches an entry script outside a run
INTERRUPTED_EXIT_CODE = 128 + signal.SIGINT
# a sweep that wrote its summary but some of whose jobs failed (a search: see SweepSummary)
SWEEP_FAILED_EXIT_CODE = 1


class SeqmnistError(Exception):
    """A problem with the user's input or environment, with the fix in its message."""


class SettingsFailure(SeqmnistError):
    """The run's own settings made it fail (refused, too big for memory, diverged): in a search,
    information for the sampler rather than a broken search."""


class ConfigError(SettingsFailure):
    """A config value is out of its allowed range."""


class DataError(SeqmnistError):
    """The dataset files are missing, corrupted or cannot be fetched."""


class CheckpointError(SeqmnistError):
    """A checkpoint cannot be used with the requested model or command."""


class TrainingDiverged(SettingsFailure):
    """The loss stopped being a finite number."""


def one_line(text: object, limit: int | None = None) -> str:
    """`text` with every run of whitespace as one space (at most `limit` characters), for messages
    that quote another library's multi-line error inside one paragraph."""
    return " ".join(str(text).split())[:limit]
