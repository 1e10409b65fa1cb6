"""Reading checkpoints safely and refusing the ones that cannot serve the requested run."""

from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from seqmnist.callbacks.run_config import RUN_CONFIG_KEY
from seqmnist.errors import CheckpointError

LATEST = "latest"


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load with `weights_only=True`: a checkpoint from elsewhere cannot run code on this machine."""
    if not path.is_file():
        raise CheckpointError(
            f"No checkpoint file at {path}. Pass ckpt_path=<run folder>/checkpoints/<name>.ckpt "
            f"(for example last.ckpt) from a train.py run."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several unrelated types for unreadable files
        raise CheckpointError(
            f"{path} cannot be read as a checkpoint ({type(error).__name__}: "
            f"{' '.join(str(error).split())[:200]}). Pass a .ckpt file written by train.py."
        ) from error
    if not isinstance(checkpoint, dict) or RUN_CONFIG_KEY not in checkpoint:
        raise CheckpointError(
            f"{path} was not written by this project's train.py (it has no '{RUN_CONFIG_KEY}' "
            f"entry), so its data and model settings are unknown. Pass a checkpoint from "
            f"logs/train/.../checkpoints/."
        )
    return checkpoint


def run_config_of(checkpoint: dict[str, Any]) -> DictConfig:
    return OmegaConf.create(checkpoint[RUN_CONFIG_KEY])


def find_latest(log_dir: Path) -> Path:
    """The most recently written last.ckpt of any run or sweep job under `log_dir`."""
    candidates = sorted(log_dir.glob("**/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise CheckpointError(
            f"ckpt_path={LATEST} found no checkpoints/last.ckpt under {log_dir}. Train a run first, "
            f"or pass the checkpoint's path."
        )
    return candidates[-1]


def ensure_weights_fit(module: nn.Module, checkpoint: dict[str, Any], path: Path) -> None:
    """Name every parameter whose shape differs, instead of torch's wall of size-mismatch text."""
    stored = {
        name: tuple(tensor.shape) for name, tensor in checkpoint.get("state_dict", {}).items()
    }
    wanted = {name: tuple(tensor.shape) for name, tensor in module.state_dict().items()}
    problems = [
        f"{name} (checkpoint {stored.get(name, 'absent')}, this model {wanted.get(name, 'absent')})"
        for name in sorted(stored.keys() | wanted.keys())
        if stored.get(name) != wanted.get(name)
    ]
    if problems:
        model_cfg = OmegaConf.to_container(run_config_of(checkpoint).get("model", {}))
        trained_with = {key: value for key, value in model_cfg.items() if not key.startswith("_")}
        raise CheckpointError(
            f"{path} holds a different architecture than this run builds: "
            f"{'; '.join(problems[:4])}{' ...' if len(problems) > 4 else ''}. The checkpoint was trained "
            f"with model={trained_with}. Use the same model settings to resume it, or start a new "
            f"run without ckpt_path."
        )


def ensure_weight_averaging_resumes(
    checkpoint: dict[str, Any], averaging: bool, path: Path
) -> None:
    """A checkpoint written with weight averaging stores the average as its weights and the
    weights in training beside them; resuming it without averaging would silently continue
    from the average."""
    if "current_model_state" in checkpoint and not averaging:
        raise CheckpointError(
            f"{path} was trained with weight averaging (callbacks=[default,ema]): its weights are "
            f"the moving average, and the weights being trained are stored beside them. Resume it "
            f"with the same callbacks, e.g. callbacks=[default,ema], or start a new run without "
            f"ckpt_path."
        )
