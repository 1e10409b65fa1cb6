"""Time to accuracy as a number a sweeper can minimise: training seconds until a validation target."""

import math
import time
from pathlib import Path

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from seqmnist.errors import ConfigError
from seqmnist.records.results import RESULT_FILE, read_result
from seqmnist.validation import ensure_valid

SECONDS_TO_TARGET = "train/seconds_to_target"


class TimeToTarget(Callback):
    """Stop a run once `monitor` reaches `target` and report the training seconds it took.

    The clock pauses from every validation to the next training batch. A run that has trained
    longer than `budget_seconds`, or than the fastest completed run under `rivals_dir`, is stopped
    at its next validation and reports infinity.
    """

    def __init__(
        self,
        target: float,
        monitor: str = "val/acc",
        budget_seconds: float | None = None,
        rivals_dir: str | None = None,
    ) -> None:
        ensure_valid(
            type(self).__name__,
            [
                (
                    "target",
                    target,
                    lambda v: isinstance(v, int | float) and 0 < v <= 1,
                    "0 < target <= 1",
                ),
                (
                    "budget_seconds",
                    budget_seconds,
                    lambda v: v is None or (isinstance(v, int | float) and v > 0),
                    "null or a number of seconds > 0",
                ),
            ],
        )
        self.target = float(target)
        self.monitor = monitor
        self.budget_seconds = budget_seconds
        self.rivals_dir = Path(rivals_dir) if rivals_dir else None
        self.trained_seconds = 0.0
        self._running_since: float | None = None
        self.seconds_to_target: float | None = None

    def on_train_batch_start(self, trainer: Trainer, *_: object) -> None:
        if self._running_since is None:
            self._running_since = time.perf_counter()

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._running_since is not None:
            self.trained_seconds += time.perf_counter() - self._running_since
            self._running_since = None

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or self.seconds_to_target is not None:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            raise ConfigError(
                f"TimeToTarget watches {self.monitor!r}, which validation did not log; logged: "
                f"{sorted(trainer.callback_metrics)}. Set its monitor to one of them."
            )
        # every process stops at the same validation, with rank 0's clock
        seconds = trainer.strategy.broadcast(self.trained_seconds)
        if float(value) >= self.target:
            self._finish(trainer, seconds)
        elif seconds >= self._allowed_seconds():
            self._finish(trainer, math.inf)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.seconds_to_target is None:
            self._finish(trainer, math.inf)

    def state_dict(self) -> dict[str, float]:
        # a resumed run goes on counting from the seconds its checkpoint had trained
        return {"trained_seconds": self.trained_seconds}

    def load_state_dict(self, state_dict: dict[str, float]) -> None:
        self.trained_seconds = state_dict["trained_seconds"]

    def _finish(self, trainer: Trainer, seconds: float) -> None:
        self.seconds_to_target = seconds
        trainer.should_stop = True
        # read back by train.py with the other final metrics (a sweeper's objective)
        trainer.callback_metrics[SECONDS_TO_TARGET] = torch.tensor(seconds)
        if math.isfinite(seconds):
            for logger in trainer.loggers:
                logger.log_metrics({SECONDS_TO_TARGET: seconds}, step=trainer.global_step)

    def _allowed_seconds(self) -> float:
        limits = [self.budget_seconds or math.inf]
        if self.rivals_dir is not None:
            limits.extend(_finished_times(self.rivals_dir))
        return min(limits)


def _finished_times(sweep_dir: Path) -> list[float]:
    """Times to target of the runs of `sweep_dir` that have finished (their result.json exists)."""
    times = []
    for path in sweep_dir.glob(f"*/{RESULT_FILE}"):
        try:
            seconds = read_result(path).metrics.get(SECONDS_TO_TARGET)
        except (OSError, ValueError, TypeError):
            continue  # unreadable, or not a run's result: not a rival
        if seconds is not None:
            times.append(float(seconds))
    return times
