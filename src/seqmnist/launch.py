"""What train.py, eval.py and predict.py share: process setup before Hydra starts, a first look at
the command line, and the task wrapper that records every run's outcome in `result.json` (a user
error ends the run as one paragraph and exit code 2)."""

import errno
import importlib.util
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import MISSING, DictConfig, OmegaConf

from seqmnist.config.checks import size_keys
from seqmnist.config.resolvers import register_resolvers
from seqmnist.errors import (
    INTERRUPTED_EXIT_CODE,
    TERMINATED_EXIT_CODE,
    USER_ERROR_EXIT_CODE,
    ConfigError,
    SeqmnistError,
    SettingsFailure,
    one_line,
)
from seqmnist.machine import device_of, hardware, software_stack
from seqmnist.records.checkpoints import readable
from seqmnist.records.results import COMPLETED, FAILED, RESULT_FILE, RunResult, write_result
from seqmnist.sigterm import SIGTERM_WATCH

log = logging.getLogger(__name__)

Task = Callable[[DictConfig], dict[str, float]]


def prepare_script(script_file: str) -> None:
    """Call at the top level of an entry script, so ddp_spawn workers (which re-import it) run it too.

    Data and logs default to folders beside the script; figures go to files and TensorBoard only,
    also on machines without a display (set here, not in the library, so a notebook importing
    seqmnist keeps its inline plots); the configs' interpolations need the resolvers.
    """
    os.environ.setdefault("SEQMNIST_ROOT", str(Path(script_file).resolve().parent))
    matplotlib.use("Agg")
    register_resolvers()
    # a log file that cannot be written (a full disk) must not print a traceback per message
    logging.raiseExceptions = False


# options whose Hydra plugin (or what it runs on) is an optional extra: option -> (module, extra)
PLUGIN_OPTIONS = {
    "hparams_search=optuna": ("optuna", "optuna"),
    "hparams_search=time_to_target": ("optuna", "optuna"),
    "hydra/sweeper=optuna": ("optuna", "optuna"),
    "hydra/launcher=joblib": ("hydra_plugins.hydra_joblib_launcher", "joblib"),
    "hydra/launcher=submitit_local": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "hydra/launcher=submitit_slurm": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "cluster=slurm_ddp": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
}
# loggers whose package is an optional extra: logger option -> [(package, extra)]
LOGGER_EXTRAS = {
    "mlflow": [("mlflow", "mlflow")],
    "wandb": [("wandb", "wandb")],
    "many": [("mlflow", "mlflow"), ("wandb", "wandb")],
}


VALUE_THAT_MAY_HOLD_SPACES = re.compile(r"""['"\[{(]|\w+\(""")


def check_command_line(arguments: list[str]) -> None:
    """Catch what Hydra would report badly: a value with a space (its lexer error does not say the
    value needs quotes inside the argument) and an option whose plugin extra is not installed (it
    says the config cannot be found, not what to install)."""
    previous = ""
    for argument in arguments:
        for module, extra in _optional_modules(argument):
            if not _installed(module):
                _refuse_command_line(
                    f"{argument} needs {module}, an optional extra of seqmnist: install it with "
                    f"pip install -e '.[{extra}]' (or '.[all]' for every sweeper, launcher and "
                    f"logger)"
                )
        key, has_value, value = argument.partition("=")
        # quoted values, lists, dicts and sweep functions (`tag(log, interval(1e-4, 1e-2))`) may hold spaces
        if has_value and " " in value and not VALUE_THAT_MAY_HOLD_SPACES.match(value):
            _refuse_command_line(
                f"the value of {key} contains a space; Hydra needs such a value quoted inside the "
                f"argument: '{key}=\"{value}\"'"
            )
        if value == "null" and _is_config_group(key):
            _refuse_command_line(
                f"{argument}: {key} is a config group, whose option Hydra cannot set to null. To "
                f"leave the group out, delete it with ~{key}; to choose another option, pass "
                f"{key}=<option> (python {Path(sys.argv[0]).name} --help lists them)"
            )
        # `~key` deletes a key: an override without a value
        if not has_value and not argument.startswith(("-", "~")) and "=" in previous:
            key, _, value = previous.partition("=")
            _refuse_command_line(
                f"'{argument}' is not an override (key=value). If it is the rest of a value with "
                f"a space, quote the whole value inside the argument: '{key}=\"{value} {argument}\"'"
            )
        previous = argument


def run_command(main: Callable[[], object]) -> None:
    """Run an entry script's Hydra `main` on this command line, after `check_command_line`.

    Ctrl-C that reaches the script itself (a sweep between or around its jobs, the local_parallel
    launcher waiting on its workers) ends it with one line instead of a traceback: the runs it
    stopped have already recorded it (result.json, interrupted.ckpt).
    """
    check_command_line(sys.argv[1:])
    try:
        main()
    except KeyboardInterrupt:
        print(
            "Interrupted (Ctrl-C): each stopped run says so in its result.json; a stopped fit "
            "left checkpoints/interrupted.ckpt to resume from.",
            file=sys.stderr,
        )
        raise SystemExit(INTERRUPTED_EXIT_CODE) from None


def _is_config_group(key: str) -> bool:
    """A folder of the entry script's `configs/` (where its @hydra.main looks)."""
    group = key.lstrip("+")
    return bool(group) and (Path(sys.argv[0]).resolve().parent / "configs" / group).is_dir()


def _optional_modules(argument: str) -> list[tuple[str, str]]:
    """(module, extra) pairs an option needs: a plugin option, or a logger option such as
    `logger=mlflow`, `"logger=[tensorboard,wandb]"` or a sweep over loggers."""
    if argument in PLUGIN_OPTIONS:
        return [PLUGIN_OPTIONS[argument]]
    key, _, value = argument.partition("=")
    if key.lstrip("+~") != "logger":
        return []
    names = value.strip("[]").replace(" ", "").split(",")
    return [needed for name in names for needed in LOGGER_EXTRAS.get(name, [])]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # no plugin at all: the hydra_plugins namespace does not exist
        return False


def _refuse_command_line(problem: str) -> None:
    print(f"error: {problem}", file=sys.stderr)
    raise SystemExit(USER_ERROR_EXIT_CODE)


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
        error = _as_user_error(error, output_dir, cfg)
        failed = RunResult(
            FAILED,
            overrides,
            time.perf_counter() - started,
            error=_reason(error),
            failed_for_settings=isinstance(error, SettingsFailure),
            seed=cfg.get("seed"),
        )
        if not _recorded(output_dir, failed) and isinstance(error, SeqmnistError):
            error = SeqmnistError(
                f"{error} {output_dir / RESULT_FILE} could not be written either."
            )
        _report_failure(error, in_sweep=hydra.mode == RunMode.MULTIRUN)
        return None
    except SystemExit as stop:  # Lightning ends a run with sys.exit(1) after Ctrl-C
        reason = f"stopped with exit code {stop.code} (Ctrl-C, or a library that exited)"
        _recorded(
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
            precision=OmegaConf.select(cfg, "trainer.precision"),
            precision_choice=cfg.get("precision_choice"),
            stack=software_stack(),
            hardware=hardware().as_record(),
            seed=cfg.get("seed"),
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


def _recorded(output_dir: Path, result: RunResult) -> bool:
    """Write a failed run's result.json unless that fails too (a full disk): the error goes first."""
    try:
        write_result(output_dir, result)
    except OSError:
        return False
    return True


def _as_user_error(error: BaseException, output_dir: Path, cfg: DictConfig) -> BaseException:
    """Running out of memory or disk is the user's setting, not a bug: say what to change."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return SeqmnistError(_disk_full(error, output_dir))
    text = str(error)
    if isinstance(error, MemoryError | torch.OutOfMemoryError) or "can't allocate memory" in text:
        detail = one_line(text, 200)
        return SettingsFailure(
            f"Ran out of memory ({type(error).__name__}: {detail}). Lower data.batch_size or "
            f"data.eval_batch_size, or a smaller {size_keys(cfg.get('model'))}, and run again."
        )
    return error


def _disk_full(error: OSError, output_dir: Path) -> str:
    file = error.filename2 or error.filename
    checkpoints = sorted((output_dir / "checkpoints").glob("*.ckpt"))
    intact, broken = [], []
    for path in checkpoints:
        (intact if readable(path) else broken).append(str(path))
    return (
        f"No space left on the device: {file or 'a file of the run'} could not be written "
        f"(run folder {output_dir}). "
        + (f"Checkpoints intact: {', '.join(intact)}. " if intact else "")
        + ("" if checkpoints else "No checkpoint had been written. ")
        + (f"Incomplete, delete: {', '.join(broken)}. " if broken else "")
        + "Free some space, or set paths.log_dir to a disk with room, then run again (to continue "
        "from an intact checkpoint, pass ckpt_path=<its path>)."
    )


def _reason(error: BaseException) -> str:
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
