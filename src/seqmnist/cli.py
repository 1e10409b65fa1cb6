"""Shared by the entry points: record every run's outcome; user errors become one paragraph."""

import importlib.util
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from seqmnist.errors import ConfigError, SeqmnistError
from seqmnist.results import COMPLETED, FAILED, RunResult, write_result
from seqmnist.runtime import SIGTERM_WATCH, device_of

log = logging.getLogger(__name__)

Task = Callable[[DictConfig], dict[str, float]]
USER_ERROR_EXIT_CODE = 2
# the shell's convention for "ended by SIGTERM", so schedulers and scripts see a failed run (a gap
# in Lightning 2.6: it exits 1 as for any error, or 0 when its evaluation loop ignores the signal)
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
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        examples = "; ".join(_MANDATORY_EXAMPLES.get(key, f"{key}=<value>") for key in missing)
        raise ConfigError(f"python {script}.py needs {', '.join(missing)}: pass {examples}.")


def _as_user_error(error: BaseException) -> BaseException:
    """Running out of memory is the user's setting, not a bug: say which settings to lower."""
    text = str(error)
    if isinstance(error, MemoryError | torch.OutOfMemoryError) or "can't allocate memory" in text:
        detail = " ".join(text.split())[:200]
        return SeqmnistError(
            f"Ran out of memory ({type(error).__name__}: {detail}). Lower data.batch_size or "
            f"data.eval_batch_size, or model.hidden / model.layers, and run again."
        )
    return error


def _failure_reason(error: BaseException) -> str:
    if isinstance(error, SIGTERMException):
        return "SIGTERMException: terminated by SIGTERM before the run finished"
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


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


# options whose Hydra plugin is an optional extra of this package: option -> (plugin module, extra)
PLUGIN_OPTIONS = {
    "hparams_search=optuna": ("hydra_plugins.hydra_optuna_sweeper", "optuna"),
    "hydra/launcher=joblib": ("hydra_plugins.hydra_joblib_launcher", "joblib"),
    "hydra/launcher=local_parallel": ("hydra_plugins.hydra_joblib_launcher", "joblib"),
    "hydra/launcher=submitit_local": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "hydra/launcher=submitit_slurm": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "cluster=slurm_ddp": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
}


def check_command_line(arguments: list[str]) -> None:
    """Catch what Hydra would report badly: a value with a space (its lexer error does not say the
    value needs quotes inside the argument) and an option whose plugin extra is not installed (it
    says the config cannot be found, not what to install)."""
    previous = ""
    for argument in arguments:
        if argument in PLUGIN_OPTIONS and not _installed(PLUGIN_OPTIONS[argument][0]):
            extra = PLUGIN_OPTIONS[argument][1]
            _refuse_command_line(
                f"{argument} needs a Hydra plugin that is an optional extra of seqmnist: install "
                f"it with pip install -e '.[{extra}]' (or '.[all]' for every sweeper and launcher)"
            )
        key, has_value, value = argument.partition("=")
        if has_value and " " in value and value[:1] not in "'\"[{(":
            _refuse_command_line(
                f"the value of {key} contains a space; Hydra needs such a value quoted inside the "
                f"argument: '{key}=\"{value}\"'"
            )
        if not has_value and not argument.startswith("-") and "=" in previous:
            key, _, value = previous.partition("=")
            _refuse_command_line(
                f"'{argument}' is not an override (key=value). If it is the rest of a value with "
                f"a space, quote the whole value inside the argument: '{key}=\"{value} {argument}\"'"
            )
        previous = argument


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # no plugin at all: the hydra_plugins namespace does not exist
        return False


def _refuse_command_line(problem: str) -> None:
    print(f"error: {problem}", file=sys.stderr)
    raise SystemExit(USER_ERROR_EXIT_CODE)
