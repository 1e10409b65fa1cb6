"""Shared by the entry points: record every run's outcome; user errors become one paragraph."""

import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from seqmnist.errors import SeqmnistError
from seqmnist.results import COMPLETED, FAILED, RunResult, write_result

log = logging.getLogger(__name__)

Task = Callable[[DictConfig], dict[str, float]]
USER_ERROR_EXIT_CODE = 2
# the shell's convention for "ended by SIGTERM", so schedulers and scripts see a failed run
TERMINATED_EXIT_CODE = 128 + signal.SIGTERM


def run_recorded(task: Task, cfg: DictConfig) -> dict[str, float] | None:
    """Run `task` and write `result.json` (status, metrics, wall time, error) into the run folder.

    In a sweep (`-m`) a failed job is recorded and returns None so the other jobs still run;
    alone, a user error (bad config, data, checkpoint) prints its fix and exits with code 2.
    """
    hydra = HydraConfig.get()
    output_dir = Path(hydra.runtime.output_dir)
    overrides = list(hydra.overrides.task)
    started = time.perf_counter()
    try:
        metrics = task(cfg)
    except (Exception, SIGTERMException) as error:
        reason = f"{type(error).__name__}: {' '.join(str(error).split())}"
        write_result(
            output_dir, RunResult(FAILED, overrides, time.perf_counter() - started, error=reason)
        )
        _report_failure(error, in_sweep=hydra.mode == RunMode.MULTIRUN)
        return None
    write_result(
        output_dir, RunResult(COMPLETED, overrides, time.perf_counter() - started, metrics)
    )
    return metrics


def _report_failure(error: BaseException, in_sweep: bool) -> None:
    if isinstance(error, SIGTERMException):
        raise SystemExit(TERMINATED_EXIT_CODE) from None
    if in_sweep:
        log.error("This job failed and the sweep goes on: %s", error)
        return
    if isinstance(error, SeqmnistError):
        log.error("%s", error)
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(USER_ERROR_EXIT_CODE) from None
    raise error
