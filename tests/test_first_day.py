"""A new user's first day: missing arguments, reused folders, signals at awkward moments, shared
read-only data and paths with spaces get a clear answer, never a traceback or a false result."""

import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.runs import SMALL_BATCHES, TINY_RUN, cli_command, cli_env, only_run, result_of, run_cli
from helpers.synthetic import make_digit_like_arrays, write_synthetic_mnist
from PIL import Image

from seqmnist.launch import check_command_line


@pytest.mark.parametrize(
    ("script", "arguments", "needed"),
    [
        ("eval.py", [], "python eval.py needs ckpt_path: pass ckpt_path=latest"),
        ("predict.py", [], "python predict.py needs ckpt_path, images: pass ckpt_path=latest"),
        ("predict.py", ["ckpt_path=latest"], "python predict.py needs images: pass images=["),
    ],
)
def test_a_missing_mandatory_argument_is_a_one_line_usage_error(
    tmp_path, script, arguments, needed
):
    result = run_cli(script, *arguments, root=tmp_path, timeout=120)
    assert result.returncode == 2
    assert needed in result.stderr
    assert "Traceback" not in result.stderr and "MissingMandatoryValue" not in result.stderr


def test_eval_and_predict_take_latest_from_a_run_of_any_task(tmp_path, synthetic_mnist):
    # task_name=debug is what the debug=* configs set: their runs live under logs/debug/
    run = [*TINY_RUN, *synthetic_mnist.overrides(), "task_name=debug"]
    trained = run_cli("train.py", *run, root=tmp_path)
    assert trained.returncode == 0, trained.stderr[-2000:]
    last = only_run(tmp_path, task="debug") / "checkpoints" / "last.ckpt"
    data = f"paths.data_dir={synthetic_mnist.root}"

    evaluated = run_cli("eval.py", "ckpt_path=latest", data, "trainer=cpu", root=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert str(last) in evaluated.stdout

    digit = tmp_path / "digit.png"
    Image.fromarray(make_digit_like_arrays(1, seed=0)[0][0]).save(digit)
    predicted = run_cli("predict.py", "ckpt_path=latest", f"images=[{digit}]", root=tmp_path)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert "digit.png" in predicted.stdout


def test_a_run_folder_that_holds_a_run_is_refused_and_left_as_it_was(tmp_path, synthetic_mnist):
    folder = tmp_path / "my_run"
    run = [*TINY_RUN, *synthetic_mnist.overrides(), f"hydra.run.dir={folder}"]
    assert run_cli("train.py", *run, root=tmp_path).returncode == 0
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}

    again = run_cli("train.py", *run, "model.hidden=8", root=tmp_path)
    assert again.returncode == 2
    assert f"hydra.run.dir={folder} already holds a run" in again.stderr
    assert "Traceback" not in again.stderr
    after = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    assert after == before  # no last-v1.ckpt, config and result of the first run untouched


def run_signalled(root: Path, data, callback: str, *arguments: str) -> subprocess.CompletedProcess:
    """train.py with a callback from tests/helpers/interrupting.py that sends SIGTERM at a chosen point."""
    callback_target = f"+callbacks.sigterm._target_=helpers.interrupting.{callback}"
    return run_cli(
        "train.py",
        *TINY_RUN,
        *data.overrides(),
        callback_target,
        *arguments,
        root=root,
        test_callbacks=True,
    )


def test_sigterm_during_the_test_ends_the_run_as_terminated_without_a_result_table(
    tmp_path, synthetic_mnist
):
    # 60 test images in batches of 25: batch 2 is the last one, where Lightning ignores SIGTERM
    result = run_signalled(
        tmp_path, synthetic_mnist, "SigtermAtTestBatch", "+callbacks.sigterm.batch=2"
    )
    assert result.returncode == 128 + signal.SIGTERM, result.stderr[-2000:]
    assert "Final metrics" not in result.stdout
    recorded = result_of(only_run(tmp_path))
    assert recorded["status"] == "failed"
    assert "terminated by SIGTERM" in recorded["error"]


def test_sigterm_during_the_sanity_check_is_recorded_with_its_reason(tmp_path, synthetic_mnist):
    result = run_signalled(tmp_path, synthetic_mnist, "SigtermInSanityCheck")
    assert result.returncode == 128 + signal.SIGTERM, result.stderr[-2000:]
    assert "terminated by SIGTERM" in result_of(only_run(tmp_path))["error"]


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """Makes a folder read-only; gives write access back afterwards so it can be cleaned up."""
    made: list[Path] = []

    def make(folder: Path) -> None:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        made.append(folder)

    yield make
    for folder in made:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


# root ignores file modes; without these capabilities it obeys them like any other user
AS_A_USER_WHO_OBEYS_FILE_MODES = (
    ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
    if os.geteuid() == 0
    else []
)


PREPARE_AND_LOAD = """
import sys
from seqmnist.data import MNISTDataModule
from seqmnist.errors import DataError
checksums = dict(item.split(":") for item in sys.argv[2].split(","))
datamodule = MNISTDataModule(sys.argv[1], checksums=checksums, val_size=40)
try:
    datamodule.prepare_data()
except DataError as error:
    sys.exit(f"error: {error}")
datamodule.setup()
print("training images:", len(datamodule.data_train))
"""


def prepare_without_write_access(
    root: Path, checksums: dict[str, str]
) -> subprocess.CompletedProcess:
    """Prepare and load the data in a process that cannot write the read-only `root`."""
    probe = subprocess.run(
        [*AS_A_USER_WHO_OBEYS_FILE_MODES, "touch", str(root / "probe")], capture_output=True
    )
    assert probe.returncode != 0, "the folder must not be writable by the process under test"
    table = ",".join(f"{name}:{md5}" for name, md5 in checksums.items())
    return subprocess.run(
        [*AS_A_USER_WHO_OBEYS_FILE_MODES, sys.executable, "-c", PREPARE_AND_LOAD, str(root), table],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_read_only_folder_with_verified_data_is_used_as_it_is(tmp_path, read_only):
    data = write_synthetic_mnist(tmp_path / "data")
    read_only(data.root)
    result = prepare_without_write_access(data.root, data.checksums)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"training images: {data.train_size - 40}" in result.stdout


def test_a_read_only_folder_with_missing_data_says_it_cannot_be_written(tmp_path, read_only):
    data = write_synthetic_mnist(tmp_path / "data")
    (data.root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    read_only(data.root)
    result = prepare_without_write_access(data.root, data.checksums)
    assert result.returncode == 1
    assert "t10k-labels-idx1-ubyte is missing" in result.stderr
    assert "the folder is not writable" in result.stderr
    assert "Point paths.data_dir to a writable folder" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "arguments",
    [["paths.data_dir=/data/my dir"], ["paths.data_dir=/data/my", "dir"]],
    ids=["quoted-by-the-shell-only", "split-by-the-shell"],
)
def test_a_value_with_a_space_gets_the_quoting_that_works(tmp_path, arguments):
    result = run_cli("train.py", *arguments, root=tmp_path, timeout=120)
    assert result.returncode == 2
    assert """'paths.data_dir="/data/my dir"'""" in result.stderr
    assert "Traceback" not in result.stderr and "LexerNoViableAlt" not in result.stderr
    assert not (tmp_path / "logs").exists()


def test_a_config_group_set_to_null_gets_the_deletion_that_works(tmp_path):
    result = run_cli("train.py", "experiment=null", root=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "delete it with ~experiment" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "logs").exists()


def test_a_deletion_after_an_override_passes_the_command_line_check(capsys):
    check_command_line(["hydra/sweeper/sampler=grid", "~hydra.sweeper.sampler.seed"])
    assert capsys.readouterr().err == ""


def test_a_sweep_function_with_spaces_passes_the_command_line_check(capsys):
    check_command_line(
        ["-m", "optimizer.lr=tag(log, interval(0.001, 0.01))", "model.hidden=choice(8, 16)"]
    )
    assert capsys.readouterr().err == ""


def test_the_quoting_the_error_suggests_trains_from_a_folder_with_a_space(tmp_path):
    data = write_synthetic_mnist(tmp_path / "my data")
    overrides = [o for o in data.overrides() if not o.startswith("data.data_dir=")]
    result = run_cli(
        "train.py", *TINY_RUN, *overrides, f'paths.data_dir="{data.root}"', root=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize(
    ("option", "extra"),
    [
        ("hparams_search=optuna", "optuna"),
        ("hparams_search=time_to_target", "optuna"),
        ("hydra/launcher=joblib", "joblib"),
        ("cluster=slurm_ddp", "slurm"),
        ("logger=mlflow", "mlflow"),
        ("logger=wandb", "wandb"),
        ("logger=[tensorboard,wandb]", "wandb"),
        ("logger=many", "mlflow"),
    ],
)
def test_an_option_whose_plugin_extra_is_missing_names_the_pip_command(
    monkeypatch, capsys, option, extra
):
    # what a `pip install -e .` without extras sees: no hydra_plugins at all
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemExit) as stopped:
        check_command_line(["-m", option, "model.hidden=64,128"])
    assert stopped.value.code == 2
    assert f"pip install -e '.[{extra}]'" in capsys.readouterr().err


def test_options_whose_plugin_is_installed_pass(capsys):
    check_command_line(["-m", "hparams_search=optuna", "hydra/launcher=local_parallel"])
    assert capsys.readouterr().err == ""


def _can_mount_a_small_disk() -> bool:
    """A user namespace (unshare -rm) lets an unprivileged test mount its own tmpfs."""
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_mount_a_small_disk(), reason="needs unshare -rm to mount a tmpfs")
def test_a_log_folder_that_fills_up_names_the_file_and_the_intact_checkpoints(
    tmp_path, synthetic_mnist
):
    # the default 2x128 LSTM's checkpoints (2.6 MB each): the first fits in 3 MB, the second not
    logs = tmp_path / "full"
    logs.mkdir()
    train = shlex.join(
        cli_command(
            "train.py",
            *SMALL_BATCHES,
            *synthetic_mnist.overrides(),
            f"paths.log_dir={logs}",
            "trainer.max_epochs=2",
        )
    )
    report = f"rc=$?; ls -a {logs}/train/runs/*/checkpoints; cat {logs}/train/runs/*/result.json; exit $rc"
    script = f"mount -t tmpfs -o size=3m tmpfs {logs} && {train}; {report}"
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    (message,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "No space left on the device" in message and "last.ckpt could not be written" in message
    assert "Checkpoints intact: " in message and "epoch_000.ckpt" in message
    # the failed write's temporary file is gone: no half checkpoint, and room for the record
    assert ".partial" not in result.stdout and "last.ckpt" not in result.stdout.split()
    assert '"status": "failed"' in result.stdout and "No space left" in result.stdout
