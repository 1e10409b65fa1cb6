"""train.py fits and tests end to end; eval.py recomputes the same number from the checkpoint."""

import csv
import json
import re
import subprocess
from pathlib import Path

import pytest
import torch
from helpers.recording import samples_per_epoch
from helpers.runs import (
    QUICK,
    TINY_RUN,
    cli_command,
    cli_env,
    compose_train,
    only_run,
    printed_metric,
    result_of,
    run_cli,
    train_synthetic,
    train_then_evaluate,
)
from hydra.utils import instantiate
from lightning.pytorch import Trainer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from seqmnist.config.build import load_trained
from seqmnist.errors import ConfigError
from seqmnist.records.checkpoints import read_checkpoint
from seqmnist.training import train


def test_fast_dev_run_on_synthetic_data_fits_and_tests(tmp_path, synthetic_mnist):
    cfg = compose_train(
        tmp_path, *QUICK, *synthetic_mnist.overrides(), "+trainer.fast_dev_run=true"
    )
    metrics = train(cfg)
    assert {"train/loss_step", "val/acc", "test/acc", "test/loss"} <= set(metrics)


# a higher learning rate than the default recipe's: the synthetic digits are learned in 70 steps
LEARNS = [*QUICK, "optimizer.lr=0.03", "trainer.max_epochs=10", "logger=none", "callbacks=none"]


def test_the_synthetic_digits_are_learned_in_a_few_steps(tmp_path, synthetic_mnist):
    metrics = train(compose_train(tmp_path, *LEARNS, *synthetic_mnist.overrides()))
    assert metrics["test/acc"] >= 0.9


@pytest.mark.parametrize(
    "override",
    [
        "model.hidden=128",
        "model.layers=3",
        "optimizer=momentum",
        "optimizer=adadelta",
        "scheduler=cosine",
        "scheduler=none",
        "trainer=cpu",
        "logger=csv",
    ],
)
def test_everyday_override_trains_and_tests(tmp_path, synthetic_mnist, override):
    cfg = compose_train(
        tmp_path, *QUICK, *synthetic_mnist.overrides(), "+trainer.fast_dev_run=true", override
    )
    assert 0.0 <= train(cfg)["test/acc"] <= 1.0


@pytest.mark.parametrize("seed", [0, 7])
def test_same_seed_gives_the_same_run_and_another_seed_a_different_one(
    tmp_path, synthetic_mnist, seed
):
    def run(chosen: int) -> float:
        overrides = [
            *QUICK,
            *synthetic_mnist.overrides(),
            "+trainer.fast_dev_run=true",
            "logger=none",
        ]
        return train(compose_train(tmp_path / str(chosen), *overrides, f"seed={chosen}"))[
            "test/loss"
        ]

    assert run(seed) == run(seed)
    assert run(seed) != run(seed + 1)


def test_train_prints_the_test_accuracy_tensorboard_holds_and_eval_recomputes(
    tmp_path, synthetic_mnist
):
    # non-default normalisation: eval must take it from the checkpoint to recompute the same number
    printed, recomputed, run_dir = train_then_evaluate(
        tmp_path, synthetic_mnist, *QUICK, "trainer.max_epochs=2", "data.mean=0.5", "data.std=0.5"
    )
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    assert events.Scalars("test/acc")[-1].value == pytest.approx(printed, abs=1e-6)
    assert recomputed == pytest.approx(printed, abs=1e-6)
    assert_load_trained_tests_as_eval_did(run_dir, synthetic_mnist.root, recomputed)


def assert_load_trained_tests_as_eval_did(run_dir: Path, data_dir: Path, evaluated: float) -> None:
    """Outside the scripts, one call loads the module; with its run's data settings it tests the
    same as eval.py."""
    best = next((run_dir / "checkpoints").glob("epoch_*.ckpt"))
    trained = load_trained(best)
    module, data_cfg = trained.module, trained.run_config.data
    data_cfg.data_dir = str(data_dir)
    trainer = Trainer(accelerator="cpu", logger=False, enable_progress_bar=False)
    (metrics,) = trainer.test(module, datamodule=instantiate(data_cfg), verbose=False)
    assert metrics["test/acc"] == pytest.approx(evaluated, abs=1e-6)


# every rule, each with the message train.py prints (checked in-process: the path from the
# refusal to the terminal is the same for all of them, and the CLI test below takes it)
BAD_SETTINGS = [
    ("model.hidden=0", "model.hidden=0 is invalid (allowed: a positive integer)"),
    ("model.layers=-1", "model.layers=-1 is invalid"),
    ("model.dropout=1.5", "model.dropout=1.5 is invalid (allowed: a number in [0, 1))"),
    ("data.batch_size=0", "data.batch_size=0 is invalid"),
    ("data.val_size=70000", "data.val_size=70000 is invalid"),
    ("model.hidden=abc", "model.hidden='abc' is invalid"),
    (
        "data.sequence=diagonal",
        "data.sequence='diagonal' is invalid (allowed: one of rows, columns, pixels, permuted)",
    ),
    (
        "data.dataset=cifar",
        "data.dataset='cifar' is invalid (allowed: one of mnist, fashion_mnist, kmnist, or module:ATTRIBUTE",
    ),
    (
        "data.augmentation.degrees=-5",
        "data.augmentation={'degrees': -5, 'translate': 2, 'scale': 0.1} is invalid (allowed: degrees >= 0",
    ),
    (
        "model.cell=transformer",
        "model.cell='transformer' is invalid (allowed: one of lstm, gru, rnn)",
    ),
    ("model.readout=max", "model.readout='max' is invalid (allowed: one of last, mean)"),
    ("model.forget_bias=abc", "model.forget_bias='abc' is invalid (allowed: a number or null)"),
    ("optimizer.lr=-0.1", "optimizer.lr=-0.1 is invalid (allowed: a positive number)"),
    ("threads=-1", "threads=-1 is invalid (allowed: a positive integer or null)"),
    ("seed=abc", "seed='abc' is invalid (allowed: an integer or null)"),
    ("trainer.max_epochs=0", "trainer.max_epochs=0 is invalid (allowed: a positive integer"),
    ("++trainer.max_steps=0", "trainer.max_steps=0 is invalid"),
    ("++trainer.limit_train_batches=0", "trainer.limit_train_batches=0 is invalid"),
    (
        "trainer.max_epochs=-1",
        "trainer.max_epochs=-1 with trainer.max_steps=-1 trains without end, but the "
        "learning-rate schedule is built from the run's length",
    ),
    (
        "data.batch_size=100000",
        "data.batch_size=100000 is invalid (allowed: at most 55,000, the training split",
    ),
    ("model.hidden=100000000", "Choose a smaller model.hidden or model.layers"),
]


@pytest.mark.parametrize(("override", "message"), BAD_SETTINGS)
def test_a_bad_setting_is_refused_before_any_work_naming_key_value_and_allowed_range(
    tmp_path, override, message
):
    with pytest.raises(ConfigError) as refused:
        train(compose_train(tmp_path, override))
    assert message in str(refused.value)
    assert not list(tmp_path.rglob("*.ckpt"))


@pytest.mark.parametrize(
    ("override", "exit_code", "message"),
    [
        ("model.hidden=0", 2, "model.hidden=0 is invalid (allowed: a positive integer)"),
        # the sequence mode is also read by the model's input size, a resolved interpolation
        (
            "data.sequence=diagonal",
            2,
            "data.sequence='diagonal' is invalid (allowed: one of rows, columns, pixels, permuted)",
        ),
        # rejected by Hydra itself, which lists what exists
        ("optimizer=unknown", 1, "Could not find 'optimizer/unknown'"),
        ("model.hiden=128", 1, "Key 'hiden' is not in struct"),
    ],
)
def test_a_bad_setting_exits_with_its_message_and_leaves_a_failed_record_only(
    tmp_path, override, exit_code, message
):
    result = run_cli("train.py", override, root=tmp_path, timeout=120)
    assert result.returncode == exit_code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    # nothing left behind that looks like a result: no table, no checkpoints, a failed record
    assert "Final metrics" not in result.stdout
    assert not list(tmp_path.glob("logs/**/*.ckpt"))
    recorded = list(tmp_path.glob("logs/train/runs/*/result.json"))
    # Hydra's own rejections (exit 1) come before a run folder exists; ours are recorded
    assert len(recorded) == (1 if exit_code == 2 else 0)
    assert all(json.loads(path.read_text())["status"] == "failed" for path in recorded)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has the GPU these need")
@pytest.mark.parametrize("script", ["train.py", "eval.py"])
@pytest.mark.parametrize("trainer", ["gpu", "ddp"])
def test_a_gpu_trainer_without_a_gpu_names_the_trainers_that_run_here(tmp_path, script, trainer):
    result = run_cli(script, f"trainer={trainer}", "ckpt_path=x.ckpt", root=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "trainer.accelerator=gpu needs a CUDA GPU, and none is available here" in result.stderr
    assert "trainer=cpu" in result.stderr and "trainer=ddp_sim" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_forget_bias_for_a_cell_without_forget_gate_is_refused_naming_both_settings(tmp_path):
    with pytest.raises(ConfigError) as refused:
        train(compose_train(tmp_path, "model.cell=gru", "model.forget_bias=1.0"))
    assert (
        "model.forget_bias=1.0 is invalid (allowed: null, because cell='gru' has no forget gate"
        in str(refused.value)
    )


def test_two_runs_started_at_once_get_distinct_folders(tmp_path, synthetic_mnist):
    command = cli_command(
        "train.py",
        *QUICK,
        *synthetic_mnist.overrides(),
        "+trainer.fast_dev_run=true",
        "logger=none",
    )
    runs = [
        subprocess.Popen(
            command,
            cwd=tmp_path,
            env=cli_env(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    assert [run.wait(timeout=300) for run in runs] == [0, 0]
    assert len(list((tmp_path / "logs" / "train" / "runs").iterdir())) == 2


def test_eval_of_a_missing_checkpoint_says_what_to_pass(tmp_path):
    result = run_cli("eval.py", f"ckpt_path={tmp_path / 'nope.ckpt'}", root=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "No checkpoint file at" in result.stderr


def test_eval_of_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    junk = Path(tmp_path / "junk.ckpt")
    junk.write_bytes(b"not a checkpoint")
    result = run_cli("eval.py", f"ckpt_path={junk}", root=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "cannot be read as a checkpoint" in result.stderr


def test_diverging_loss_stops_the_run_naming_the_step_and_the_fixes(tmp_path, synthetic_mnist):
    result = run_cli(
        "train.py",
        *QUICK,
        *synthetic_mnist.overrides(),
        "optimizer=adam",
        "optimizer.lr=1e37",
        "scheduler=none",
        "trainer.gradient_clip_val=null",
        "logger=none",
        root=tmp_path,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert re.search(r"training loss became (nan|inf|-inf) at global step \d+", result.stderr)
    assert "optimizer.lr" in result.stderr and "trainer.gradient_clip_val" in result.stderr


def test_the_composed_config_is_printed_as_a_tree_and_saved_in_the_run_folder(
    tmp_path, synthetic_mnist
):
    cfg = compose_train(
        tmp_path, *QUICK, *synthetic_mnist.overrides(), "+trainer.fast_dev_run=true", "logger=none"
    )
    train(cfg)
    saved = (tmp_path / "config_tree.txt").read_text()
    assert "model" in saved and "hidden: 16" in saved and "optimizer" in saved


def test_the_run_log_file_keeps_lightnings_messages_and_the_final_metrics(
    tmp_path, synthetic_mnist
):
    trained = run_cli(
        "train.py", *QUICK, *synthetic_mnist.overrides(), "logger=none", root=tmp_path
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    log_file = next(tmp_path.glob("logs/train/runs/*/train.log")).read_text()
    assert "Seed set to 42" in log_file
    assert "Restoring states from the checkpoint path" in log_file
    assert re.search(rf"test/acc\s*│\s*{printed_metric(trained.stdout, 'test/acc'):.6f}", log_file)


def test_a_test_on_part_of_the_test_set_never_reads_as_the_test_set(tmp_path, synthetic_mnist):
    run = [*QUICK, *synthetic_mnist.overrides(), "logger=none", "trainer.max_epochs=1"]
    full = run_cli("train.py", *run, root=tmp_path)
    part = run_cli("train.py", *run, "+trainer.limit_test_batches=1", root=tmp_path)
    assert full.returncode == part.returncode == 0, part.stderr[-3000:]
    assert (
        f"test = the full official MNIST test set, {synthetic_mnist.test_size} images"
        in full.stdout
    )
    assert "test = 25 images of the official MNIST test set, cut by" in part.stdout


def test_test_false_fits_and_validates_without_reading_the_test_set(tmp_path, synthetic_mnist):
    result = run_cli(
        "train.py", *TINY_RUN, *synthetic_mnist.overrides(), "test=false", root=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test=false: the test set was not read" in result.stdout
    metrics = result_of(only_run(tmp_path))["metrics"]
    assert "val/acc_best" in metrics
    assert not any(name.startswith("test/") for name in metrics)


def test_logger_csv_writes_the_metrics_of_fit_and_test(tmp_path, synthetic_mnist):
    train(
        compose_train(
            tmp_path, *QUICK, *synthetic_mnist.overrides(), "trainer.max_epochs=1", "logger=csv"
        )
    )
    with (tmp_path / "csv" / "metrics.csv").open() as stream:
        header = next(csv.reader(stream))
    assert {"train/loss_epoch", "val/acc", "test/acc"} <= set(header)


def test_the_same_seed_and_thread_count_give_the_same_weights(tmp_path, synthetic_mnist):
    run = [*QUICK, *synthetic_mnist.overrides(), "logger=none", "trainer.max_epochs=1", "threads=1"]
    weights = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        trained = run_cli("train.py", *run, root=tmp_path / name)
        assert trained.returncode == 0, trained.stderr[-2000:]
        last = next((tmp_path / name).glob("logs/train/runs/*/checkpoints/last.ckpt"))
        weights.append(torch.load(last, weights_only=True)["state_dict"])
        recorded = json.loads(
            next((tmp_path / name).glob("logs/train/runs/*/result.json")).read_text()
        )
        assert recorded["threads"] == 1
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][name], weights[1][name]) for name in weights[0])


@pytest.mark.parametrize("option", ["fdr", "limit", "profiler"])
def test_every_debug_option_runs(tmp_path, synthetic_mnist, option):
    overrides = [*QUICK, *synthetic_mnist.overrides(), f"debug={option}", "logger=none"]
    if option != "fdr":
        overrides += ["trainer.max_epochs=1", "++trainer.limit_train_batches=2"]
    metrics = train(compose_train(tmp_path, *overrides))
    assert 0.0 <= metrics["test/acc"] <= 1.0


def test_debug_overfit_trains_on_the_same_batches_every_epoch(tmp_path, synthetic_mnist):
    samples = tmp_path / "samples"
    overrides = [
        *QUICK,
        *synthetic_mnist.overrides(),
        "debug=overfit",
        "trainer.max_epochs=3",
        "logger=none",
        "+callbacks.record._target_=helpers.recording.RecordTrainingSamples",
        f"+callbacks.record.folder={samples}",
    ]
    train(compose_train(tmp_path, *overrides))
    per_epoch = samples_per_epoch(samples)
    assert len(per_epoch["0"]) == 3 * 32  # three batches of data.batch_size=32
    assert per_epoch["1"] == per_epoch["0"] and per_epoch["2"] == per_epoch["0"]


def test_a_run_that_max_steps_ends_mid_epoch_validates_and_checkpoints_its_final_weights(
    tmp_path, synthetic_mnist
):
    steps = tmp_path / "validation_steps.txt"
    run_dir = tmp_path / "logs" / "train" / "runs" / "max_steps"
    train_synthetic(
        run_dir,
        synthetic_mnist,
        # 7 batches an epoch: the run ends 5 steps into its second epoch
        "trainer.max_epochs=3",
        "+trainer.max_steps=12",
        "+callbacks.record_validations._target_=helpers.recording.RecordValidationSteps",
        f"+callbacks.record_validations.steps={steps}",
    )
    assert steps.read_text().split() == ["7", "12"]
    assert read_checkpoint(run_dir / "checkpoints" / "last.ckpt")["global_step"] == 12
