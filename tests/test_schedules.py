"""Learning-rate schedules work for every run length: no crash, the peak is the optimizer's lr."""

import pytest
import torch
from helpers.runs import QUICK, compose_train, options
from hydra.utils import instantiate

from seqmnist.training import train

SCHEDULES = [option for option in options("scheduler") if option != "none"]


def learning_rates(cfg, total_steps: int) -> list[float]:
    """The lr of each of `total_steps` optimizer steps, then the one the schedule ends at."""
    optimizer = instantiate(cfg.optimizer)(params=[torch.nn.Parameter(torch.zeros(1))])
    schedule = instantiate(cfg.scheduler)(optimizer=optimizer, total_steps=total_steps)
    rates = []
    for _ in range(total_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return [*rates, optimizer.param_groups[0]["lr"]]


@pytest.mark.parametrize("scheduler", SCHEDULES)
@pytest.mark.parametrize("optimizer", ["adamw", "adadelta", "momentum"])
def test_every_run_length_from_one_step_peaks_at_the_optimizer_lr_and_decays_towards_zero(
    tmp_path, scheduler, optimizer
):
    cfg = compose_train(tmp_path, f"scheduler={scheduler}", f"optimizer={optimizer}")
    peak = cfg.optimizer.lr
    for total_steps in range(1, 31):
        *used, end = learning_rates(cfg, total_steps)
        assert max(used) == pytest.approx(peak, rel=1e-12), f"{total_steps} steps"
        if total_steps > 1:
            assert min(*used, end) <= 0.01 * peak, f"{total_steps} steps"


def test_the_default_schedule_is_torchs_one_cycle_where_its_warm_up_is_whole_steps(tmp_path):
    cfg = compose_train(tmp_path)
    optimizer = instantiate(cfg.optimizer)(params=[torch.nn.Parameter(torch.zeros(1))])
    reference = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=cfg.optimizer.lr, total_steps=2580, pct_start=0.25
    )
    expected = []
    for _ in range(2580):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        reference.step()
    assert learning_rates(cfg, 2580)[:-1] == expected  # the default recipe: 6 epochs of 430 steps


def test_a_run_of_four_optimizer_steps_trains_and_tests(tmp_path, synthetic_mnist):
    cfg = compose_train(
        tmp_path,
        *QUICK,
        *synthetic_mnist.overrides(),
        "logger=none",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=4",
    )
    metrics = train(cfg)
    assert metrics["test/images"] == synthetic_mnist.test_size
