"""Argument checks of this package's classes: every bad argument listed at once, by its own name.

The classes know nothing of Hydra; `seqmnist.config.build` reports their problems under the
config keys that set them.
"""

from collections.abc import Callable, Iterable
from typing import Any

from seqmnist.errors import SeqmnistError

Predicate = Callable[[Any], bool]


class InvalidArguments(SeqmnistError, ValueError):
    """Arguments out of their allowed range: `problems` maps each parameter to (value, allowed)."""

    def __init__(self, owner: str, problems: dict[str, tuple[Any, str]]) -> None:
        self.owner = owner
        self.problems = problems
        listed = "; ".join(
            invalid(name, value, allowed) for name, (value, allowed) in problems.items()
        )
        super().__init__(f"{owner}: {listed}")


def invalid(name: str, value: Any, allowed: str) -> str:
    """How every refused setting is reported, by a class or under its config key."""
    return f"{name}={value!r} is invalid (allowed: {allowed})"


def ensure_valid(owner: str, checks: Iterable[tuple[str, Any, Predicate, str]]) -> None:
    """Raise `InvalidArguments` for every `(parameter, value, holds, allowed)` that does not hold."""
    problems = {
        name: (value, allowed) for name, value, holds, allowed in checks if not holds(value)
    }
    if problems:
        raise InvalidArguments(owner, problems)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def one_of(choices: Iterable[str]) -> tuple[Predicate, str]:
    """`holds` and `allowed` for a value that must be one of `choices`."""
    names = tuple(choices)
    return lambda value: value in names, f"one of {', '.join(names)}"


INTEGER: tuple[Predicate, str] = (is_int, "an integer")
NUMBER: tuple[Predicate, str] = (is_number, "a number")
POSITIVE_INTEGER: tuple[Predicate, str] = (
    lambda value: is_int(value) and value > 0,
    "a positive integer",
)
POSITIVE_NUMBER: tuple[Predicate, str] = (
    lambda value: is_number(value) and value > 0,
    "a positive number",
)
BOOLEAN: tuple[Predicate, str] = (lambda value: isinstance(value, bool), "true or false")
NON_NEGATIVE_NUMBER: tuple[Predicate, str] = (
    lambda value: is_number(value) and value >= 0,
    "a number >= 0",
)
# a dropout rate, a scale jitter: 1 would remove everything
FRACTION: tuple[Predicate, str] = (
    lambda value: is_number(value) and 0 <= value < 1,
    "a number in [0, 1)",
)
CLASS_COUNT: tuple[Predicate, str] = (
    lambda value: is_int(value) and value > 1,
    "an integer of at least 2",
)
