"""Running train.py, eval.py and predict.py as a user would, and composing their configs."""

import contextlib
import importlib.util
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import traceback
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from seqmnist.training import train

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / "configs"
# real MNIST is fetched once into the repository's data folder and shared by every test that needs it
REAL_DATA_DIR = REPO_ROOT / "data"

# the base groups without the default recipe's augmentation and weight average: tests of the
# machinery on tiny data (configs/experiment/default.yaml is composed by test_configs.py)
SMALL_BATCHES = ["trainer=cpu", "data.batch_size=32", "data.eval_batch_size=25", "~experiment"]
QUICK = [*SMALL_BATCHES, "model.hidden=16", "model.dropout=0.0"]
# a small state-space network in place of QUICK's LSTM
QUICK_S4D = [*SMALL_BATCHES, "model=s4d", "model.d_model=8", "model.d_state=4", "model.layers=2"]
# a small Legendre memory network
QUICK_LMU = [*SMALL_BATCHES, "model=lmu", "model.order=16", "model.hidden=16"]


def printed_metric(output: str, name: str) -> float:
    match = re.search(rf"{re.escape(name)}\s*│\s*([0-9.]+)\s*│", output)
    assert match, f"{name} not printed in:\n{output}"
    return float(match.group(1))


TINY_RUN = [*QUICK, "logger=none", "trainer.max_epochs=1"]


def result_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


def only_run(root: Path, task: str = "train") -> Path:
    (run_dir,) = (root / "logs" / task / "runs").iterdir()
    return run_dir


def options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONFIG_DIR / group).glob("*.yaml"))


def compose_train(tmp_path: Path, *overrides: str) -> DictConfig:
    return compose_task("train", tmp_path, *overrides)


def compose_task(name: str, tmp_path: Path, *overrides: str) -> DictConfig:
    """The config `python <name>.py overrides...` runs, writing into `tmp_path`."""
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose(name, overrides=[f"paths.output_dir={tmp_path}", *overrides])


def cli_command(script: str, *overrides: str) -> list[str]:
    return [sys.executable, str(REPO_ROOT / script), *overrides]


def cli_env(root: Path, test_callbacks: bool = False) -> dict[str, str]:
    """The user's environment, with data and logs under `root` instead of the repository.

    `test_callbacks` lets overrides name callbacks from tests/helpers (`helpers.interrupting.SigtermAtStep`).
    """
    env = {**os.environ, "SEQMNIST_ROOT": str(root), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    if test_callbacks:
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).parents[1]), env.get("PYTHONPATH")])
        )
    return env


def run_cli(
    script: str, *overrides: str, root: Path, timeout: float = 600, test_callbacks: bool = False
) -> subprocess.CompletedProcess:
    """Run `python <script> overrides...` as a user would, with logs under `root`: in this process
    (`run_script`), or in a process of its own where the run starts processes (DDP, launchers)."""
    if not any(_STARTS_PROCESSES.search(override) for override in overrides):
        return run_script(script, *overrides, root=root)
    return subprocess.run(
        cli_command(script, *overrides),
        cwd=root,
        env=cli_env(root, test_callbacks),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


_STARTS_PROCESSES = re.compile(r"ddp_sim|strategy=|^hydra/launcher=|^cluster=")


def run_script(script: str, *overrides: str, root: Path) -> subprocess.CompletedProcess:
    """What `run_cli` returns, from the entry script run in this process: the same command-line
    checks, Hydra run, records, exit code and output, without a new interpreter importing torch
    and Lightning again (seconds per call)."""
    saved = (os.getcwd(), dict(os.environ), signal.getsignal(signal.SIGTERM))
    os.environ.update({"SEQMNIST_ROOT": str(root), "COLUMNS": "200"})
    os.chdir(root)
    GlobalHydra.instance().clear()
    try:
        return _as_main(REPO_ROOT / script, *overrides)
    finally:
        GlobalHydra.instance().clear()
        logging.shutdown()
        logging.getLogger().handlers.clear()
        os.chdir(saved[0])
        os.environ.clear()
        os.environ.update(saved[1])
        signal.signal(signal.SIGTERM, saved[2])


def run_python_script(path: Path, *arguments: str) -> subprocess.CompletedProcess:
    """`python <path> arguments...` (a benchmark), run in this process."""
    sys.path.insert(0, str(path.parent))
    try:
        return _as_main(path, *arguments)
    finally:
        sys.path.remove(str(path.parent))


def _as_main(path: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Execute a script as `python <path> arguments...` does, under the name `__main__` (so Hydra
    finds configs/ beside it), without making it this process's main module; its exit code and
    output as `subprocess.run` would give them."""
    saved_argv, saved_threads = sys.argv, torch.get_num_threads()
    sys.argv = [str(path), *arguments]
    stdout, stderr, code = io.StringIO(), io.StringIO(), 0
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                spec = importlib.util.spec_from_file_location("__main__", path)
                spec.loader.exec_module(importlib.util.module_from_spec(spec))
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
            except BaseException:  # what the interpreter would print before exiting with 1
                traceback.print_exc()
                code = 1
    finally:
        sys.argv = saved_argv
        torch.set_num_threads(saved_threads)
    return subprocess.CompletedProcess(
        [str(path), *arguments], code, stdout.getvalue(), stderr.getvalue()
    )


def start_cli(
    script: str,
    *overrides: str,
    root: Path,
    test_callbacks: bool = False,
    own_process_group: bool = False,
) -> subprocess.Popen:
    """Start `python <script> overrides...` to signal it while it runs, as a terminal would.

    A suite started in the background by a shell without job control ignores SIGINT, and its
    children inherit that: the run gets the handling a terminal gives it. `own_process_group`
    makes it a terminal's foreground group, so SIGINT can reach it and every process it starts.
    """
    return subprocess.Popen(
        cli_command(script, *overrides),
        cwd=root,
        env=cli_env(root, test_callbacks),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=own_process_group,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def ctrl_c_at_step(pressed: Path, step: int = 1) -> list[str]:
    """Overrides that press Ctrl-C at a training step of the first run to get there, which
    leaves the file `pressed` (helpers.interrupting.CtrlCAtStep)."""
    return [
        "+callbacks.ctrl_c._target_=helpers.interrupting.CtrlCAtStep",
        f"+callbacks.ctrl_c.step={step}",
        f"+callbacks.ctrl_c.pressed={pressed}",
    ]


def run_to_interruption(script: str, *overrides: str, root: Path) -> tuple[int, str]:
    """Run a command that a test callback interrupts, as a terminal's foreground group; return
    its exit code and stderr. A run that hangs is killed, so it cannot outlive a failed test."""
    process = start_cli(script, *overrides, root=root, test_callbacks=True, own_process_group=True)
    try:
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return process.returncode, stderr


def train_then_evaluate(
    root: Path, data, *overrides: str, test_callbacks: bool = False
) -> tuple[float, float, Path]:
    """Train through the CLI, then eval.py its best checkpoint: (printed train, printed eval, run folder).

    The printed accuracy must be strictly between 0 and 1, so that agreeing with eval.py is not
    met trivially (an untrained or saturated model agrees with anything).
    """
    trained = run_cli(
        "train.py", *overrides, *data.overrides(), root=root, test_callbacks=test_callbacks
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert 0 < printed_metric(trained.stdout, "test/acc") < 1
    run_dir = next((root / "logs" / "train" / "runs").iterdir())
    best = next((run_dir / "checkpoints").glob("epoch_*.ckpt"))
    evaluated = run_cli(
        "eval.py", f"ckpt_path={best}", f"paths.data_dir={data.root}", "trainer=cpu", root=root
    )
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    return (
        printed_metric(trained.stdout, "test/acc"),
        printed_metric(evaluated.stdout, "test/acc"),
        run_dir,
    )


def train_synthetic(output_dir, synthetic, *overrides):
    log_dir = output_dir.parents[2]  # <root>/logs/train/runs/<name> -> <root>/logs
    cfg = compose_train(
        output_dir,
        *QUICK,
        *synthetic.overrides(),
        "logger=none",
        f"paths.log_dir={log_dir}",
        *overrides,
    )
    return train(cfg)
