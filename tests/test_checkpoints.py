"""Resuming picks the right checkpoint, and a checkpoint of another architecture is refused clearly."""

import errno
import os
from pathlib import Path

import pytest
import torch
from helpers.runs import train_synthetic

from seqmnist.errors import CheckpointError
from seqmnist.records.checkpoints import AtomicCheckpointIO, find_latest
from seqmnist.records.results import COMPLETED, RunResult, write_result


def test_ckpt_path_latest_continues_the_newest_run(tmp_path, synthetic_mnist):
    runs = tmp_path / "logs" / "train" / "runs"
    # a constant lr: a one-cycle schedule is fixed to its run's length and cannot be extended
    train_synthetic(runs / "first", synthetic_mnist, "trainer.max_epochs=1", "scheduler=none")
    train_synthetic(
        runs / "second",
        synthetic_mnist,
        "trainer.max_epochs=2",
        "scheduler=none",
        "ckpt_path=latest",
    )
    resumed = torch.load(runs / "second" / "checkpoints" / "last.ckpt", weights_only=True)
    steps_per_epoch = -(-(synthetic_mnist.train_size - 40) // 32)
    assert resumed["global_step"] == 2 * steps_per_epoch


def test_ckpt_path_latest_without_any_run_says_so(tmp_path, synthetic_mnist):
    with pytest.raises(CheckpointError, match=r"found no checkpoints/last\.ckpt"):
        train_synthetic(
            tmp_path / "logs" / "train" / "runs" / "a", synthetic_mnist, "ckpt_path=latest"
        )


def test_resuming_a_checkpoint_of_another_architecture_names_the_mismatch(
    tmp_path, synthetic_mnist
):
    runs = tmp_path / "logs" / "train" / "runs"
    train_synthetic(runs / "small", synthetic_mnist, "trainer.max_epochs=1")
    last = runs / "small" / "checkpoints" / "last.ckpt"
    with pytest.raises(
        CheckpointError, match=r"different architecture.*net\.head\.weight.*'hidden': 16"
    ):
        train_synthetic(runs / "big", synthetic_mnist, "model.hidden=32", f"ckpt_path={last}")


def test_latest_with_a_damaged_newest_checkpoint_names_the_readable_ones_beside_it(
    tmp_path, synthetic_mnist
):
    runs = tmp_path / "logs" / "train" / "runs"
    train_synthetic(runs / "first", synthetic_mnist, "trainer.max_epochs=1")
    last = runs / "first" / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])  # a disk that filled up while writing it
    best = next((runs / "first" / "checkpoints").glob("epoch_*.ckpt"))
    with pytest.raises(CheckpointError, match=r"it is damaged.*Readable checkpoints") as refused:
        train_synthetic(runs / "second", synthetic_mnist, "ckpt_path=latest")
    assert str(best) in str(refused.value)


def test_latest_refuses_a_run_that_already_finished(tmp_path, synthetic_mnist):
    runs = tmp_path / "logs" / "train" / "runs"
    train_synthetic(runs / "finished", synthetic_mnist, "trainer.max_epochs=1")
    write_result(runs / "finished", RunResult(COMPLETED, [], wall_time_s=1.0))  # as train.py does
    with pytest.raises(CheckpointError, match=r"its run finished .* nothing to resume"):
        train_synthetic(runs / "second", synthetic_mnist, "ckpt_path=latest", "model.hidden=16")


def test_resuming_a_checkpoint_that_reached_this_runs_length_is_refused(tmp_path, synthetic_mnist):
    runs = tmp_path / "logs" / "train" / "runs"
    train_synthetic(runs / "done", synthetic_mnist, "trainer.max_epochs=1")
    last = runs / "done" / "checkpoints" / "last.ckpt"
    with pytest.raises(CheckpointError, match=r"already trained 1 epochs .* would train nothing"):
        train_synthetic(
            runs / "again", synthetic_mnist, "trainer.max_epochs=1", f"ckpt_path={last}"
        )


def test_latest_is_the_most_recently_written_last_checkpoint_of_several_runs(
    tmp_path, synthetic_mnist
):
    runs = tmp_path / "logs" / "train" / "runs"
    train_synthetic(runs / "a", synthetic_mnist, "trainer.max_epochs=1")
    written = (runs / "a" / "checkpoints" / "last.ckpt").read_bytes()
    # written in the order b, c, a: neither name order nor creation order decides
    for age, name in enumerate(["a", "c", "b"]):
        last = runs / name / "checkpoints" / "last.ckpt"
        last.parent.mkdir(parents=True, exist_ok=True)
        last.write_bytes(written)
        os.utime(last, (1_000_000 + age, 1_000_000 + age))
    assert find_latest(tmp_path / "logs" / "train") == runs / "b" / "checkpoints" / "last.ckpt"


def test_a_checkpoint_write_that_fails_midway_leaves_the_previous_file_intact(
    tmp_path, monkeypatch
):
    target = tmp_path / "checkpoints" / "last.ckpt"
    writer = AtomicCheckpointIO()
    writer.save_checkpoint({"step": 1, "weights": torch.ones(1000)}, target)
    before = target.read_bytes()

    def full_disk(path, data):
        with open(path, "wb") as stream:
            stream.write(bytes(data)[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError) as failed:
        writer.save_checkpoint({"step": 2, "weights": torch.zeros(1000)}, target)
    assert failed.value.errno == errno.ENOSPC and failed.value.filename == str(target)
    assert target.read_bytes() == before
    assert os.listdir(target.parent) == ["last.ckpt"]  # no partial file left behind
