"""Reject impossible settings before any work starts, with the key, the value and what is allowed."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from seqmnist.arguments import POSITIVE_NUMBER, InvalidArguments, is_int
from seqmnist.errors import ConfigError

_ABSENT = object()


@dataclass(frozen=True)
class Rule:
    key: str
    holds: Callable[[Any], bool]
    allowed: str


# settings read by torch, Lightning or the entry points, not by a constructor of this package;
# `data` and `model` settings are checked by the classes they configure (`_constructor_problems`)
RULES: tuple[Rule, ...] = (
    Rule("optimizer.lr", *POSITIVE_NUMBER),
    Rule("seed", lambda v: v is None or is_int(v), "an integer or null"),
    Rule("threads", lambda v: v is None or (is_int(v) and v > 0), "a positive integer or null"),
    # a run that trains nothing would test untrained weights and print them as a result
    Rule(
        "trainer.max_epochs",
        lambda v: v is None or (is_int(v) and (v > 0 or v == -1)),
        "a positive integer, -1 (no limit) or null (Lightning's default)",
    ),
    Rule(
        "trainer.max_steps",
        lambda v: is_int(v) and (v > 0 or v == -1),
        "a positive integer, or -1 (no limit)",
    ),
    Rule(
        "trainer.limit_train_batches",
        lambda v: (is_int(v) and v > 0) or (isinstance(v, float) and 0 < v <= 1),
        "a positive number of batches, or a fraction in (0, 1]",
    ),
)


def validate(cfg: DictConfig) -> None:
    """Raise one ConfigError listing every broken setting, so a user fixes them all in one go."""
    problems = [
        f"{rule.key}={value!r} is invalid (allowed: {rule.allowed})"
        for rule in RULES
        if (value := OmegaConf.select(cfg, rule.key, default=_ABSENT)) is not _ABSENT
        and not rule.holds(value)
    ]
    problems += _constructor_problems("data", lambda: instantiate(cfg.data))
    problems += _constructor_problems("model", lambda: _build_net_shapes(cfg.model))
    for name, spec in (cfg.get("callbacks") or {}).items():
        if spec:
            problems += _constructor_problems(f"callbacks.{name}", partial(instantiate, spec))
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


def _constructor_problems(group: str, build: Callable[[], object]) -> list[str]:
    """What the class a config group instantiates refuses, named by the group's config keys."""
    try:
        build()
    except InstantiationException as wrapped:  # Hydra wraps what a constructor raises
        error = wrapped.__cause__
        if not isinstance(error, InvalidArguments):
            raise
        return [
            f"{group}.{name}={value!r} is invalid (allowed: {allowed})"
            for name, (value, allowed) in error.problems.items()
        ]
    return []


def _build_net_shapes(model_cfg: DictConfig) -> torch.nn.Module:
    """The network on the meta device: its checks run, nothing is allocated."""
    input_size = OmegaConf.select(model_cfg, "input_size", throw_on_resolution_failure=False)
    with torch.device("meta"):
        # an input size that cannot be resolved comes from data.sequence, which the data check names
        return instantiate(model_cfg, input_size=28 if input_size is None else input_size)


def _unbounded(cfg: DictConfig) -> bool:
    """Lightning trains without end only when both limits are -1 (max_epochs=null means 1000)."""
    return (
        OmegaConf.select(cfg, "trainer.max_epochs") == -1
        and OmegaConf.select(cfg, "trainer.max_steps", default=-1) == -1
    )


# the settings that size a network (model=recurrent, model=s4d)
_SIZE_KEYS = ("hidden", "d_model", "d_state", "layers")
# AdamW keeps two values per weight besides the weight and its gradient
_TRAINING_BYTES_PER_PARAMETER = 4 * 4


def ensure_model_fits_in_memory(model_cfg: DictConfig) -> None:
    """Refuse a network whose weights, gradients and optimizer state alone exceed this machine's
    free memory, naming its size settings, instead of an allocator error from deep inside torch."""
    net = _build_net_shapes(model_cfg)
    parameters = sum(parameter.numel() for parameter in net.parameters())
    needed, available = parameters * _TRAINING_BYTES_PER_PARAMETER, available_memory_bytes()
    if available is not None and needed > available:
        sizes = [key for key in _SIZE_KEYS if key in model_cfg]
        settings = " with ".join(f"model.{key}={model_cfg[key]}" for key in sizes)
        raise ConfigError(
            f"{settings} makes a network of {parameters:,} parameters, which needs "
            f"{needed / 1e9:,.1f} GB to train (weights, gradients and optimizer state, before any "
            f"activations), but this machine has {available / 1e9:,.1f} GB of memory available. "
            f"Choose a smaller {' or '.join(f'model.{key}' for key in sizes)}."
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
