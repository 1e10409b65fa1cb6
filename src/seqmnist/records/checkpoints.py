"""Writing checkpoints so a failed write never costs the previous one, reading them safely, and
refusing the ones that cannot serve the requested run."""

import io
import os
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins import TorchCheckpointIO
from omegaconf import DictConfig, OmegaConf
from torch import nn

from seqmnist.errors import CheckpointError, one_line
from seqmnist.records.results import COMPLETED, RESULT_FILE, read_result

# where a checkpoint keeps the resolved config of the run that wrote it (callbacks/run_config.py)
RUN_CONFIG_KEY = "seqmnist_config"
# the fixed pixel order of a `permuted` run (callbacks/run_config.py): read back, not re-drawn
PIXEL_ORDER_KEY = "seqmnist_pixel_order"
# eval.py and predict.py look for it under every task's logs (train, debug, task_name=...), train.py
# under its own task's, so a resumed run goes on in the folder it came from
LATEST = "latest"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Every checkpoint written to a temporary file beside its target, then renamed over it.

    Fills a gap: Lightning's local writes go through a temporary file in the system's temp folder
    and are moved into place, which across file systems is a copy in place, so a full disk leaves a
    truncated `last.ckpt` where the previous good one was. A rename in one folder is atomic.
    Remote paths (`s3://...`) keep Lightning's own writer.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if "://" in str(path) or storage_options is not None:
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        # serialised in memory first: torch's zip writer reports a full disk as a RuntimeError
        serialised = io.BytesIO()
        torch.save(checkpoint, serialised)
        try:
            partial.write_bytes(serialised.getbuffer())
            os.replace(partial, target)
        except OSError as error:  # a full disk: named by the file the user knows
            partial.unlink(missing_ok=True)
            raise type(error)(error.errno, error.strerror, str(target)) from error
        except BaseException:
            partial.unlink(missing_ok=True)
            raise


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
            f"{one_line(error, 200)}). Pass a .ckpt file written by train.py."
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


def stored_pixel_order(checkpoint: dict[str, Any], legacy_key: str) -> torch.Tensor | None:
    """The pixel order a checkpoint's run read with, or None (not `permuted`). Checkpoints written
    before it had its own key kept it as `legacy_key` in the DataModule's state, under the
    DataModule's class name."""
    if PIXEL_ORDER_KEY in checkpoint:
        return checkpoint[PIXEL_ORDER_KEY]
    for entry in checkpoint.values():
        if isinstance(entry, dict) and isinstance(entry.get(legacy_key), torch.Tensor):
            return entry[legacy_key]
    return None


def resolve_checkpoint(ckpt_path: str, train_log_dir: Path) -> Path:
    """A `ckpt_path` value as a file: `latest` is the newest readable last.ckpt train.py wrote."""
    if ckpt_path == LATEST:
        return find_latest(train_log_dir)
    return Path(ckpt_path).expanduser().resolve()


def find_latest(log_dir: Path) -> Path:
    """The most recently written last.ckpt of any run or sweep job under `log_dir`, if readable."""
    candidates = sorted(
        log_dir.glob("**/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    if not candidates:
        raise CheckpointError(
            f"ckpt_path={LATEST} found no checkpoints/last.ckpt under {log_dir}. Train a run first, "
            f"or pass the checkpoint's path."
        )
    newest = candidates[0]
    try:
        read_checkpoint(newest)
    except CheckpointError as error:
        beside = sorted(
            (p for p in newest.parent.glob("*.ckpt") if p != newest),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        intact = [str(p) for p in [*beside, *candidates[1:4]] if readable(p)]
        alternatives = (
            f"Readable checkpoints, newest first: {', '.join(intact)}. Pass one as ckpt_path=<path>."
            if intact
            else "No other readable checkpoint was found; start a new run without ckpt_path."
        )
        raise CheckpointError(
            f"ckpt_path={LATEST} picked the newest last.ckpt, but it is damaged: {error} "
            f"{alternatives}"
        ) from error
    return newest


def readable(path: Path) -> bool:
    try:
        read_checkpoint(path)
    except CheckpointError:
        return False
    return True


def ensure_run_unfinished(path: Path) -> None:
    """`latest` must not pick a run that already completed: resuming it would train nothing and
    print that old run's test result under the new run's name."""
    result_file = path.parent.parent / RESULT_FILE
    if result_file.is_file() and read_result(result_file).status == COMPLETED:
        raise CheckpointError(
            f"ckpt_path={LATEST} picked {path}, but its run finished ({result_file} says "
            f"completed), so there is nothing to resume. Start a new run without ckpt_path; to test "
            f"that run's checkpoint use python eval.py ckpt_path={LATEST}."
        )


def ensure_training_left(
    checkpoint: dict[str, Any], max_epochs: int | None, max_steps: int, path: Path
) -> None:
    """Resuming a checkpoint that already reached this run's length would train nothing and then
    re-test the old weights as if they were this run's result."""
    epochs = checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"]
    steps = checkpoint["global_step"]
    # Lightning's default: 1000 epochs when neither limit is set
    epoch_limit = max_epochs if max_epochs is not None else (1000 if max_steps == -1 else -1)
    if (max_steps > 0 and steps >= max_steps) or (epoch_limit > 0 and epochs >= epoch_limit):
        raise CheckpointError(
            f"{path} has already trained {epochs} epochs ({steps} optimizer steps), as far as this "
            f"run would go (trainer.max_epochs={max_epochs}, trainer.max_steps={max_steps}), so "
            f"resuming it would train nothing. To test it: python eval.py ckpt_path={path}. To "
            f"train further, raise trainer.max_epochs (with scheduler=none: a schedule built from "
            f"the run's length cannot be stretched)."
        )


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
