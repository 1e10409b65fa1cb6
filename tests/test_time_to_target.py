"""The time-to-target objective: training seconds until a validation target, or infinity."""

import math

import pytest
import torch
from helpers.runs import compose_train, train_synthetic

from seqmnist.callbacks import SECONDS_TO_TARGET
from seqmnist.config.build import build_run
from seqmnist.errors import ConfigError
from seqmnist.records.results import RunResult, write_result

TIME_TO_TARGET = ["callbacks=[default,time_to_target]", "trainer.max_epochs=5"]
# val/loss starts near ln(10) = 2.3, so a target of 1.0 on it is met at the first validation
MET_AT_FIRST_VALIDATION = [
    "callbacks.time_to_target.monitor=val/loss",
    "callbacks.time_to_target.target=1.0",
]
# val/acc of a model trained for one epoch of synthetic digits is far from 100 %
NOT_MET_AT_FIRST_VALIDATION = ["callbacks.time_to_target.target=1.0"]


def epochs_trained(run_dir) -> int:
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    return last["epoch"] + 1


def test_a_run_that_reaches_the_target_stops_there_and_reports_its_training_seconds(
    tmp_path, synthetic_mnist
):
    run_dir = tmp_path / "logs" / "train" / "runs" / "reached"
    metrics = train_synthetic(run_dir, synthetic_mnist, *TIME_TO_TARGET, *MET_AT_FIRST_VALIDATION)
    assert 0 < metrics[SECONDS_TO_TARGET] < math.inf
    assert epochs_trained(run_dir) == 1


def test_validation_and_the_sanity_check_are_not_counted_as_training_time(
    tmp_path, synthetic_mnist
):
    # one epoch of 8 tiny batches trains in well under a second; each validation sleeps 2 s
    metrics = train_synthetic(
        tmp_path / "logs" / "train" / "runs" / "slow",
        synthetic_mnist,
        *TIME_TO_TARGET,
        *MET_AT_FIRST_VALIDATION,
        "+callbacks.slow_validation._target_=helpers.delays.SlowValidation",
        "+callbacks.slow_validation.seconds=2",
    )
    assert metrics[SECONDS_TO_TARGET] < 1.0


def train_short_of_the_target(run_dir, synthetic, *overrides: str) -> tuple[dict[str, float], int]:
    """(final metrics, epochs trained) of a run that does not meet its target at the first validation."""
    metrics = train_synthetic(
        run_dir, synthetic, *TIME_TO_TARGET, *NOT_MET_AT_FIRST_VALIDATION, *overrides
    )
    return metrics, epochs_trained(run_dir)


def test_a_run_over_its_time_budget_is_stopped_and_reports_infinity(tmp_path, synthetic_mnist):
    metrics, epochs = train_short_of_the_target(
        tmp_path / "logs" / "train" / "runs" / "over_budget",
        synthetic_mnist,
        "callbacks.time_to_target.budget_seconds=0.001",
    )
    assert metrics[SECONDS_TO_TARGET] == math.inf
    assert epochs == 1
    # stopped, not failed: the run still tests its best checkpoint
    assert "test/acc" in metrics


def test_a_run_slower_than_a_finished_rival_of_its_sweep_is_stopped(tmp_path, synthetic_mnist):
    sweep_dir = tmp_path / "logs" / "train" / "multiruns" / "sweep"
    rival = RunResult("completed", ["model.hidden=8"], 1.0, {SECONDS_TO_TARGET: 0.001})
    write_result(sweep_dir / "0", rival)
    metrics, epochs = train_short_of_the_target(
        sweep_dir / "1", synthetic_mnist, f"callbacks.time_to_target.rivals_dir={sweep_dir}"
    )
    assert metrics[SECONDS_TO_TARGET] == math.inf
    assert epochs == 1


def test_a_run_without_budget_or_rivals_trains_to_the_end_when_the_target_is_not_met(
    tmp_path, synthetic_mnist
):
    metrics, epochs = train_short_of_the_target(
        tmp_path / "logs" / "train" / "runs" / "to_the_end", synthetic_mnist, "trainer.max_epochs=2"
    )
    assert metrics[SECONDS_TO_TARGET] == math.inf
    assert epochs == 2


def test_a_target_outside_zero_to_one_is_refused_under_its_config_key(tmp_path):
    cfg = compose_train(
        tmp_path, "callbacks=[default,time_to_target]", "callbacks.time_to_target.target=97.5"
    )
    with pytest.raises(ConfigError, match=r"callbacks\.time_to_target\.target=97\.5 is invalid"):
        build_run(cfg)
