"""Every run's outcome in `result.json`; a user error ends the run as one paragraph and exit code 2."""

import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import MISSING, DictConfig, OmegaConf

from seqmnist.config.resolvers import register_resolvers
from seqmnist.errors import ConfigError, SeqmnistError, one_line
from seqmnist.runs.process import SIGTERM_WATCH, device_of
from seqmnist.runs.results import COMPLETED, FAILED, RunResult, write_result

log = logging.getLogger(__name__)

Task = Callable[[DictConfig], dict[str, float]]
USER_ERROR_EXIT_CODE = 2
# the shell's convention for "ended by SIGTERM", so schedulers and scripts see a failed run (a gap
# in Lightning 2.6: it exits 1 as for any error, or 0 when its evaluation loop ignores the signal)
TERMINATED_EXIT_CODE = 128 + signal.SIGTERM
# and for "ended by SIGINT": Ctrl-C that reaches an entry script outside a run (seqmnist.launch)
INTERRUPTED_EXIT_CODE = 128 + signal.SIGINT


def run_recorded(task: Task, cfg: DictConfig) -> dict[str, float] | None:
    """Run `task` and write `result.json` (status, metrics, wall time, error) into the run folder.

    In a sweep (`-m`) a failed job is recorded and returns None so the other jobs still run;
    alone, a user error (bad config, data, checkpoint) prints its fix and exits with code 2.
    """
    hydra = HydraConfig.get()
    output_dir = Path(hydra.runtime.output_dir)
    overrides = list(hydra.overrides.task)
    started = time.perf_counter()
    # jobs of the joblib and submitit launchers run in processes that never ran the entry script
    register_resolvers()
    try:
        SIGTERM_WATCH.install()
        _ensure_mandatory_values(cfg, script=hydra.job.name)
        metrics = task(cfg)
    except (Exception, SIGTERMException) as error:
        error = _as_user_error(error)
        reason = _failure_reason(error)
        write_result(
            output_dir, RunResult(FAILED, overrides, time.perf_counter() - started, error=reason)
        )
        _report_failure(error, in_sweep=hydra.mode == RunMode.MULTIRUN)
        return None
    except SystemExit as stop:  # Lightning ends a run with sys.exit(1) after Ctrl-C
        reason = f"stopped with exit code {stop.code} (Ctrl-C, or a library that exited)"
        write_result(
            output_dir, RunResult(FAILED, overrides, time.perf_counter() - started, error=reason)
        )
        raise
    write_result(
        output_dir,
        RunResult(
            COMPLETED,
            overrides,
            time.perf_counter() - started,
            metrics,
            threads=torch.get_num_threads(),
            device=device_of(str(cfg.get("trainer", {}).get("accelerator", "cpu"))),
        ),
    )
    return metrics


# what to pass for each mandatory (`???`) config value of eval.py and predict.py
_MANDATORY_EXAMPLES = {
    "ckpt_path": "ckpt_path=latest (the newest last.ckpt of train.py) or "
    "ckpt_path=logs/train/runs/<run>/checkpoints/<name>.ckpt",
    "images": "images=[my_digit.png,digits/]",
}


def _ensure_mandatory_values(cfg: DictConfig, script: str) -> None:
    missing = sorted(_missing_keys(OmegaConf.to_container(cfg, resolve=False)))
    if missing:
        examples = "; ".join(_MANDATORY_EXAMPLES.get(key, f"{key}=<value>") for key in missing)
        raise ConfigError(f"python {script}.py needs {', '.join(missing)}: pass {examples}.")


def _missing_keys(node: Any, prefix: str = "") -> list[str]:
    """Keys still at `???`, found without resolving interpolations (`OmegaConf.missing_keys`
    resolves them, and a resolver refusing a bad setting would pre-empt the check naming its key)."""
    if isinstance(node, dict):
        return [
            key for name, value in node.items() for key in _missing_keys(value, f"{prefix}{name}.")
        ]
    return [prefix.rstrip(".")] if node == MISSING else []


def _as_user_error(error: BaseException) -> BaseException:
    """Running out of memory is the user's setting, not a bug: say which settings to lower."""
    text = str(error)
    if isinstance(error, MemoryError | torch.OutOfMemoryError) or "can't allocate memory" in text:
        detail = one_line(text, 200)
        return SeqmnistError(
            f"Ran out of memory ({type(error).__name__}: {detail}). Lower data.batch_size or "
            f"data.eval_batch_size, or model.hidden / model.layers, and run again."
        )
    return error


def _failure_reason(error: BaseException) -> str:
    if isinstance(error, SIGTERMException):
        return "SIGTERMException: terminated by SIGTERM before the run finished"
    return f"{type(error).__name__}: {one_line(error)}"


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
