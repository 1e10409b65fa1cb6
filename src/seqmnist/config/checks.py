"""Settings no class owns, checked before any work starts: the key, the value and what is allowed."""

import torch
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from seqmnist.errors import ConfigError
from seqmnist.models import SequenceNet
from seqmnist.validation import POSITIVE_NUMBER, Predicate, invalid, is_int

_ABSENT = object()


# settings read by torch, Lightning or the entry points, not by a constructor of this package;
# `data`, `model` and callback settings are checked by the classes they configure
RULES: dict[str, tuple[Predicate, str]] = {
    "optimizer.lr": POSITIVE_NUMBER,
    "seed": (lambda v: v is None or is_int(v), "an integer or null"),
    "threads": (lambda v: v is None or (is_int(v) and v > 0), "a positive integer or null"),
    # a run that trains nothing would test untrained weights and print them as a result
    "trainer.max_epochs": (
        lambda v: v is None or (is_int(v) and (v > 0 or v == -1)),
        "a positive integer, -1 (no limit) or null (Lightning's default)",
    ),
    "trainer.max_steps": (
        lambda v: is_int(v) and (v > 0 or v == -1),
        "a positive integer, or -1 (no limit)",
    ),
    "trainer.limit_train_batches": (
        lambda v: (is_int(v) and v > 0) or (isinstance(v, float) and 0 < v <= 1),
        "a positive number of batches, or a fraction in (0, 1]",
    ),
}


def setting_problems(cfg: DictConfig) -> list[str]:
    """What is wrong with the settings no constructor checks (config/build.py adds the refusals of
    the classes it builds, so one error lists every broken setting)."""
    problems = [
        invalid(key, value, allowed)
        for key, (holds, allowed) in RULES.items()
        if (value := OmegaConf.select(cfg, key, default=_ABSENT)) is not _ABSENT
        and not holds(value)
    ]
    if _unbounded(cfg) and cfg.get("scheduler"):
        problems.append(
            "trainer.max_epochs=-1 with trainer.max_steps=-1 trains without end, but the "
            "learning-rate schedule is built from the run's length (set trainer.max_epochs or "
            "trainer.max_steps, or use scheduler=none)"
        )
    return problems


def raise_if_any(problems: list[str]) -> None:
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


def ensure_model_fits_in_memory(net: SequenceNet, model_cfg: DictConfig) -> None:
    """Refuse a network (built on the meta device) whose weights, gradients and optimizer state
    alone exceed this machine's free memory, naming its own size settings, instead of an allocator
    error from deep inside torch."""
    parameters = sum(parameter.numel() for parameter in net.parameters())
    needed, available = parameters * _TRAINING_BYTES_PER_PARAMETER, available_memory_bytes()
    if available is not None and needed > available:
        settings = " with ".join(
            f"model.{name}={model_cfg[name]}" for name in net.size_settings if name in model_cfg
        )
        raise ConfigError(
            f"{settings or type(net).__name__} makes a network of {parameters:,} parameters, which needs "
            f"{needed / 1e9:,.1f} GB to train (weights, gradients and optimizer state, before any "
            f"activations), but this machine has {available / 1e9:,.1f} GB of memory available. "
            f"Choose a smaller {size_keys(model_cfg)}."
        )


def size_keys(model_cfg: DictConfig | None) -> str:
    """`model.<a> or model.<b>`: the config keys that size the configured network (its
    class's `size_settings`), for messages."""
    try:
        net_class = get_class(str(model_cfg._target_)) if model_cfg else None
    except (AttributeError, ImportError, ValueError):
        net_class = None
    names = (
        net_class.size_settings
        if isinstance(net_class, type) and issubclass(net_class, SequenceNet)
        else ()
    )
    return " or ".join(f"model.{name}" for name in names) or "network (its size settings, model.*)"


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
