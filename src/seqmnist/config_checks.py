"""Reject impossible settings before any work starts, with the key, the value and what is allowed."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from hydra.utils import instantiate
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
    Rule("threads", lambda v: v is None or (_is_int(v) and v > 0), "a positive integer or null"),
    # a run that trains nothing would test untrained weights and print them as a result
    Rule(
        "trainer.max_epochs",
        lambda v: v is None or (_is_int(v) and (v > 0 or v == -1)),
        "a positive integer, -1 (no limit) or null (Lightning's default)",
    ),
    Rule(
        "trainer.max_steps",
        lambda v: _is_int(v) and (v > 0 or v == -1),
        "a positive integer, or -1 (no limit)",
    ),
    Rule(
        "trainer.limit_train_batches",
        lambda v: (_is_int(v) and v > 0) or (isinstance(v, float) and 0 < v <= 1),
        "a positive number of batches, or a fraction in (0, 1]",
    ),
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
    batch_size, val_size = (OmegaConf.select(cfg, f"data.{k}") for k in ("batch_size", "val_size"))
    split = (
        OFFICIAL_TRAIN_SIZE - val_size
        if _is_int(val_size) and 0 < val_size < OFFICIAL_TRAIN_SIZE
        else None
    )
    if split is not None and _is_int(batch_size) and batch_size > split:
        problems.append(
            f"data.batch_size={batch_size} is larger than the training split ({split:,} images: "
            f"{OFFICIAL_TRAIN_SIZE:,} minus data.val_size={val_size}), so every epoch would be a "
            f"single step (choose at most {split})"
        )
    if _unbounded(cfg) and cfg.get("scheduler"):
        problems.append(
            "trainer.max_epochs=-1 with trainer.max_steps=-1 trains without end, but the "
            "learning-rate schedule is built from the run's length (set trainer.max_epochs or "
            "trainer.max_steps, or use scheduler=none)"
        )
    if problems:
        raise ConfigError(
            "Invalid configuration: "
            + "; ".join(problems)
            + ". Fix the override on the command line or in the config file it comes from."
        )


def _unbounded(cfg: DictConfig) -> bool:
    """Lightning trains without end only when both limits are -1 (max_epochs=null means 1000)."""
    return (
        OmegaConf.select(cfg, "trainer.max_epochs") == -1
        and OmegaConf.select(cfg, "trainer.max_steps", default=-1) == -1
    )


# AdamW keeps two values per weight besides the weight and its gradient
_TRAINING_BYTES_PER_PARAMETER = 4 * 4


def ensure_model_fits_in_memory(model_cfg: DictConfig) -> None:
    """Refuse a network whose weights, gradients and optimizer state alone exceed this machine's
    free memory, naming its size settings, instead of an allocator error from deep inside torch."""
    with torch.device("meta"):  # shapes only: nothing is allocated
        net = instantiate(model_cfg)
    parameters = sum(parameter.numel() for parameter in net.parameters())
    needed, available = parameters * _TRAINING_BYTES_PER_PARAMETER, available_memory_bytes()
    if available is not None and needed > available:
        raise ConfigError(
            f"model.hidden={model_cfg.hidden} with model.layers={model_cfg.layers} makes a network "
            f"of {parameters:,} parameters, which needs {needed / 1e9:,.1f} GB to train (weights, "
            f"gradients and optimizer state, before any activations), but this machine has "
            f"{available / 1e9:,.1f} GB of memory available. Choose a smaller model.hidden or "
            f"model.layers."
        )


def available_memory_bytes() -> int | None:
    """Memory the kernel can hand out now (MemAvailable), or None where /proc is absent."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


_GPU_ACCELERATORS = ("gpu", "cuda")


def ensure_accelerator_available(trainer_cfg: DictConfig) -> None:
    """`trainer=gpu` or `trainer=ddp` without a visible GPU: say so and name what runs here,
    instead of Lightning's "No supported gpu backend found!"."""
    accelerator = str(trainer_cfg.get("accelerator", "auto"))
    if accelerator in _GPU_ACCELERATORS and not torch.cuda.is_available():
        build = (
            "this torch build has no CUDA support"
            if torch.version.cuda is None
            else f"this torch build supports CUDA {torch.version.cuda}, but no GPU is visible"
        )
        raise ConfigError(
            f"trainer.accelerator={accelerator} needs a CUDA GPU, and none is available here "
            f"({build}; check nvidia-smi and CUDA_VISIBLE_DEVICES). On this machine use "
            f"trainer=cpu, or trainer=default (it picks a GPU when there is one), or trainer=ddp_sim "
            f"to run the DDP code path in CPU processes."
        )
