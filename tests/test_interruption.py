"""A run stopped by SIGTERM keeps its progress and resumes from it."""

import signal
import subprocess
import time

import torch
from conftest import cli_command, cli_env, run_cli
from test_training import QUICK


def wait_for(pattern: str, root, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not list(root.glob(pattern)):
        assert time.monotonic() < deadline, f"nothing matched {pattern} within {timeout} s"
        time.sleep(0.2)


def test_sigterm_saves_a_resumable_checkpoint_says_how_to_resume_and_exits_non_zero(
    tmp_path, synthetic_mnist
):
    endless = [
        *QUICK,
        *synthetic_mnist.overrides(),
        "scheduler=none",
        "logger=none",
        "trainer.max_epochs=100000",
    ]
    process = subprocess.Popen(
        cli_command("train.py", *endless),
        cwd=tmp_path,
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for("logs/train/runs/*/checkpoints/epoch_*.ckpt", tmp_path)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 128 + signal.SIGTERM
    interrupted = next(tmp_path.glob("logs/train/runs/*/checkpoints/interrupted.ckpt"))
    assert f"Resume with the same command plus ckpt_path={interrupted}" in stderr
    stopped_at = torch.load(interrupted, weights_only=True)["epoch"]

    finite = [*endless[:-1], f"trainer.max_epochs={stopped_at + 2}", f"ckpt_path={interrupted}"]
    resumed = run_cli("train.py", *finite, root=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
