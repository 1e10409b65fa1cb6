"""Errors a user can fix; the CLI prints them as one paragraph instead of a traceback."""


class SeqmnistError(Exception):
    """A problem with the user's input or environment, with the fix in its message."""


class ConfigError(SeqmnistError):
    """A config value is out of its allowed range."""


class DataError(SeqmnistError):
    """The dataset files are missing, corrupted or cannot be fetched."""


class CheckpointError(SeqmnistError):
    """A checkpoint cannot be used with the requested model or command."""


class TrainingDiverged(SeqmnistError):
    """The loss stopped being a finite number."""


def one_line(text: object, limit: int | None = None) -> str:
    """`text` with every run of whitespace as one space (at most `limit` characters), for messages
    that quote another library's multi-line error inside one paragraph."""
    return " ".join(str(text).split())[:limit]
