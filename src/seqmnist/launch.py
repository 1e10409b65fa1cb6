"""What train.py, eval.py and predict.py do before Hydra starts: process setup and a first look at
the command line."""

import importlib.util
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib

from seqmnist.config.resolvers import register_resolvers
from seqmnist.runs.recording import INTERRUPTED_EXIT_CODE, USER_ERROR_EXIT_CODE


def prepare_script(script_file: str) -> None:
    """Call at the top level of an entry script, so ddp_spawn workers (which re-import it) run it too.

    Data and logs default to folders beside the script; figures go to files and TensorBoard only,
    also on machines without a display (set here, not in the library, so a notebook importing
    seqmnist keeps its inline plots); the configs' interpolations need the resolvers.
    """
    os.environ.setdefault("SEQMNIST_ROOT", str(Path(script_file).resolve().parent))
    matplotlib.use("Agg")
    register_resolvers()


# options whose Hydra plugin is an optional extra of this package: option -> (plugin module, extra)
PLUGIN_OPTIONS = {
    "hparams_search=optuna": ("hydra_plugins.hydra_optuna_sweeper", "optuna"),
    "hparams_search=time_to_target": ("hydra_plugins.hydra_optuna_sweeper", "optuna"),
    "hydra/launcher=joblib": ("hydra_plugins.hydra_joblib_launcher", "joblib"),
    "hydra/launcher=submitit_local": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "hydra/launcher=submitit_slurm": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "cluster=slurm_ddp": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
}


VALUE_THAT_MAY_HOLD_SPACES = re.compile(r"""['"\[{(]|\w+\(""")


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
        # quoted values, lists, dicts and sweep functions (`tag(log, interval(1e-4, 1e-2))`) may hold spaces
        if has_value and " " in value and not VALUE_THAT_MAY_HOLD_SPACES.match(value):
            _refuse_command_line(
                f"the value of {key} contains a space; Hydra needs such a value quoted inside the "
                f"argument: '{key}=\"{value}\"'"
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


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # no plugin at all: the hydra_plugins namespace does not exist
        return False


def _refuse_command_line(problem: str) -> None:
    print(f"error: {problem}", file=sys.stderr)
    raise SystemExit(USER_ERROR_EXIT_CODE)
