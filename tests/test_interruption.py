"""A run stopped by SIGTERM keeps its progress and resumes from it."""

import json
import signal
import time
from pathlib import Path

import pytest
import torch
from helpers.recording import samples_per_epoch
from helpers.runs import QUICK, QUICK_LMU, QUICK_S4D, run_cli, start_cli


def wait_for(pattern: str, root, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not list(root.glob(pattern)):
        assert time.monotonic() < deadline, f"nothing matched {pattern} within {timeout} s"
        time.sleep(0.2)


def endless_run(data) -> list[str]:
    return [*QUICK, *data.overrides(), "scheduler=none", "logger=none", "trainer.max_epochs=100000"]


def signal_after_first_checkpoint(root: Path, run: list[str], signum: int) -> tuple[int, Path]:
    """Start `train.py run`, send `signum` once a checkpoint exists; it must say how to resume.

    Returns the exit code and the interrupted.ckpt it wrote.
    """
    process = start_cli("train.py", *run, root=root)
    try:
        wait_for("logs/train/runs/*/checkpoints/epoch_*.ckpt", root)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()  # an endless run must not outlive a failed test
    interrupted = next(root.glob("logs/train/runs/*/checkpoints/interrupted.ckpt"))
    assert f"Resume with the same command plus ckpt_path={interrupted}" in stderr
    return process.returncode, interrupted


def test_sigterm_saves_a_resumable_checkpoint_says_how_to_resume_and_exits_non_zero(
    tmp_path, synthetic_mnist
):
    endless = endless_run(synthetic_mnist)
    exit_code, interrupted = signal_after_first_checkpoint(tmp_path, endless, signal.SIGTERM)
    assert exit_code == 128 + signal.SIGTERM
    stopped_at = torch.load(interrupted, weights_only=True)["epoch"]

    finite = [*endless[:-1], f"trainer.max_epochs={stopped_at + 2}", f"ckpt_path={interrupted}"]
    resumed = run_cli("train.py", *finite, root=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]


def test_ctrl_c_saves_a_resumable_checkpoint_and_says_how_to_resume(tmp_path, synthetic_mnist):
    run = endless_run(synthetic_mnist)
    exit_code, interrupted = signal_after_first_checkpoint(tmp_path, run, signal.SIGINT)
    assert exit_code == 1  # Lightning's exit code after a KeyboardInterrupt
    assert torch.load(interrupted, weights_only=True)["global_step"] > 0
    recorded = json.loads((interrupted.parents[1] / "result.json").read_text())
    assert recorded["status"] == "failed" and "Ctrl-C" in recorded["error"]


def final_checkpoint(root: Path) -> dict:
    """last.ckpt of the newest run under `root` (run folders sort by their start time)."""
    newest_run = sorted(root.glob("logs/train/runs/*"))[-1]
    return torch.load(newest_run / "checkpoints" / "last.ckpt", weights_only=True)


# step 10 is inside epoch 1; step 7 is the last batch of epoch 0, before its validation;
# with `ema` the moving average of the weights has to resume too
@pytest.mark.parametrize(
    ("stop_at_step", "callbacks", "quick"),
    [(10, "default", QUICK), (7, "default", QUICK), (10, "[default,ema]", QUICK),
     (10, "default", QUICK_S4D), (10, "default", QUICK_LMU)],
    ids=["mid-epoch", "before-validation", "mid-epoch-with-ema", "s4d-mid-epoch", "lmu-mid-epoch"],
)  # fmt: skip
def test_a_run_stopped_mid_epoch_and_resumed_ends_with_exactly_the_uninterrupted_weights(
    tmp_path, synthetic_mnist, stop_at_step, callbacks, quick
):
    # 200 training images in batches of 32: 7 steps per epoch, so step 10 is inside epoch 1;
    # dropout makes the random state part of what has to be restored
    run = [
        *quick,
        *synthetic_mnist.overrides(),
        "logger=none",
        "model.dropout=0.2",
        "trainer.max_epochs=3",
        "trainer.deterministic=true",
        f"callbacks={callbacks}",
    ]
    for name in ("uninterrupted", "stopped"):
        (tmp_path / name).mkdir()
    uninterrupted = run_cli("train.py", *run, root=tmp_path / "uninterrupted")
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]

    stopped_root = tmp_path / "stopped"
    stopped = run_cli(
        "train.py",
        *run,
        "+callbacks.sigterm._target_=helpers.interrupting.SigtermAtStep",
        f"+callbacks.sigterm.step={stop_at_step}",
        root=stopped_root,
        test_callbacks=True,
    )
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr[-2000:]
    interrupted = next(stopped_root.glob("logs/train/runs/*/checkpoints/interrupted.ckpt"))
    assert torch.load(interrupted, weights_only=True)["global_step"] == stop_at_step
    resumed = run_cli("train.py", *run, f"ckpt_path={interrupted}", root=stopped_root)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "not resumable" not in resumed.stderr

    expected, actual = final_checkpoint(tmp_path / "uninterrupted"), final_checkpoint(stopped_root)
    assert expected["global_step"] == actual["global_step"] == 3 * 7
    # with ema, state_dict holds the average and current_model_state the weights being trained
    compared = ["state_dict", "current_model_state"] if "ema" in callbacks else ["state_dict"]
    for weights in compared:
        assert expected[weights].keys() == actual[weights].keys()
        assert all(torch.equal(expected[weights][k], actual[weights][k]) for k in expected[weights])


def test_resuming_with_a_longer_run_than_the_schedule_was_built_for_is_a_clear_error(
    tmp_path, synthetic_mnist
):
    run = [*QUICK, *synthetic_mnist.overrides(), "logger=none", "trainer.max_epochs=1"]
    assert run_cli("train.py", *run, root=tmp_path).returncode == 0
    last = final_checkpoint(tmp_path)
    last_path = sorted(tmp_path.glob("logs/train/runs/*/checkpoints/last.ckpt"))[-1]
    assert last["schedule_total_steps"] == 7
    longer = run_cli(
        "train.py", *run, "trainer.max_epochs=3", f"ckpt_path={last_path}", root=tmp_path
    )
    assert longer.returncode == 2
    assert "schedule was planned for 7 optimizer steps, but this run would take 21" in longer.stderr
    assert "Traceback" not in longer.stderr


def test_under_ddp_every_rank_resumes_its_own_random_stream(tmp_path, synthetic_mnist):
    # only rank 0 writes checkpoints: the other ranks' generator states must travel in its file
    records = tmp_path / "random_states"
    run = [
        "trainer=ddp_sim",
        "trainer.strategy=ddp",  # as on GPUs: one process per rank for fit and test alike
        *QUICK[1:],
        *synthetic_mnist.overrides(),
        "scheduler=none",
        "logger=none",
        "+callbacks.record._target_=helpers.recording.RecordRandomState",
        f"+callbacks.record.folder={records}",
    ]
    first = run_cli("train.py", *run, "trainer.max_epochs=1", root=tmp_path, test_callbacks=True)
    assert first.returncode == 0, first.stderr[-3000:]
    (last,) = tmp_path.glob("logs/train/runs/*/checkpoints/last.ckpt")
    resumed = run_cli(
        "train.py",
        *run,
        "trainer.max_epochs=2",
        f"ckpt_path={last}",
        root=tmp_path,
        test_callbacks=True,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    saved, continued = {}, {}
    for rank in (0, 1):
        lines = [line.split() for line in (records / f"rank{rank}.txt").read_text().splitlines()]
        resumed_at = [event for event, _ in lines].index("resumed")
        saved[rank] = lines[resumed_at - 1][1]  # the first run's last save: last.ckpt
        continued[rank] = lines[resumed_at][1]
    assert saved[0] != saved[1]
    assert continued == saved


def test_a_run_without_seed_resumes_the_batch_order_it_drew(tmp_path, synthetic_mnist):
    samples = tmp_path / "samples"
    run = [
        *QUICK,
        *synthetic_mnist.overrides(),
        "seed=null",
        "logger=none",
        "scheduler=none",
        "trainer.max_epochs=2",
        "+callbacks.record._target_=helpers.recording.RecordTrainingSamples",
        f"+callbacks.record.folder={samples}",
    ]
    stopped = run_cli(
        "train.py",
        *run,
        "+callbacks.sigterm._target_=helpers.interrupting.SigtermAtStep",
        "+callbacks.sigterm.step=10",
        root=tmp_path,
        test_callbacks=True,
    )
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr[-2000:]
    interrupted = next(tmp_path.glob("logs/train/runs/*/checkpoints/interrupted.ckpt"))
    resumed = run_cli(
        "train.py", *run, f"ckpt_path={interrupted}", root=tmp_path, test_callbacks=True
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    per_epoch = samples_per_epoch(samples)
    # epoch 1, trained partly before the stop and partly after: every sample once, none repeated
    assert len(per_epoch["1"]) == len(set(per_epoch["1"])) == len(per_epoch["0"])
