"""Reject impossible settings before any work starts, with the key, the value and what is allowed."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqmnist.data.datamodule import DATASETS, OFFICIAL_TRAIN_SIZE
from seqmnist.data.sequence import FEATURES_PER_STEP
from seqmnist.errors import ConfigError
from seqmnist.models.recurrent import CELLS, READOUTS

_ABSENT = object()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Rule:
    key: str
    holds: Callable[[Any], bool]
    allowed: str


def _one_of(choices: Iterable[str]) -> tuple[Callable[[Any], bool], str]:
    """`holds` and `allowed` for a setting that must be one of `choices`."""
    names = tuple(choices)
    return lambda v: v in names, f"one of {', '.join(names)}"


RULES: tuple[Rule, ...] = (
    Rule("data.dataset", *_one_of(DATASETS)),
    Rule("data.sequence", *_one_of(FEATURES_PER_STEP)),
    Rule("data.permutation_seed", _is_int, "an integer"),
    Rule("model.cell", *_one_of(CELLS)),
    Rule("model.readout", *_one_of(READOUTS)),
    Rule("model.bidirectional", lambda v: isinstance(v, bool), "true or false"),
    # None only where data.sequence is unknown, which its own rule reports
    Rule("model.input_size", lambda v: v is None or (_is_int(v) and v > 0), "a positive integer"),
    Rule("model.hidden", lambda v: _is_int(v) and v > 0, "a positive integer"),
    Rule("model.layers", lambda v: _is_int(v) and v > 0, "a positive integer"),
    Rule("model.dropout", lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    Rule("model.forget_bias", lambda v: v is None or _is_number(v), "a number or null"),
    Rule("model.num_classes", lambda v: _is_int(v) and v > 1, "an integer of at least 2"),
    Rule("data.batch_size", lambda v: _is_int(v) and v > 0, "a positive integer"),
    Rule("data.eval_batch_size", lambda v: _is_int(v) and v > 0, "a positive integer"),
    Rule(
        "data.val_size",
        lambda v: _is_int(v) and 0 < v < OFFICIAL_TRAIN_SIZE,
        f"an integer between 1 and {OFFICIAL_TRAIN_SIZE - 1}",
    ),
    Rule("data.split_seed", _is_int, "an integer"),
    Rule("data.std", lambda v: _is_number(v) and v > 0, "a positive number"),
    Rule("data.mean", _is_number, "a number"),
    Rule("optimizer.lr", lambda v: _is_number(v) and v > 0, "a positive number"),
    Rule("seed", lambda v: v is None or _is_int(v), "an integer or null"),
)


def validate(cfg: DictConfig) -> None:
    """Raise one ConfigError listing every broken setting, so a user fixes them all in one go."""
    problems = []
    for rule in RULES:
        value = OmegaConf.select(cfg, rule.key, default=_ABSENT)
        if value is not _ABSENT and not rule.holds(value):
            problems.append(f"{rule.key}={value!r} is invalid (allowed: {rule.allowed})")
    cell = OmegaConf.select(cfg, "model.cell", default="lstm")
    if OmegaConf.select(cfg, "model.forget_bias") is not None and cell != "lstm":
        problems.append(
            f"model.forget_bias is set but model.cell={cell!r} has no forget gate "
            f"(use model.cell=lstm, or model.forget_bias=null)"
        )
    if problems:
        raise ConfigError(
            "Invalid configuration: "
            + "; ".join(problems)
            + ". Fix the override on the command line or in the config file it comes from."
        )
