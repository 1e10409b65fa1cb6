"""Sweeps, searches and multi-process training run on Hydra's and Lightning's own engines."""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import mlflow
import optuna
import pytest
from helpers.recording import samples_per_epoch
from helpers.runs import (
    QUICK,
    ctrl_c_at_step,
    result_of,
    run_cli,
    run_to_interruption,
    train_then_evaluate,
)
from helpers.synthetic import write_synthetic_mnist
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from seqmnist.launch import INTERRUPTED_EXIT_CODE
from seqmnist.records.results import COMPLETED, RunResult
from seqmnist.records.sweep_summary import sweep_failure

# the sweeps choose model.hidden themselves; a fixed value after them would win
TINY = [o for o in QUICK if not o.startswith("model.hidden")] + [
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=2",
]


def result_metrics(run_dir: Path) -> dict[str, float]:
    return json.loads((run_dir / "result.json").read_text())["metrics"]


def sweep_folder(root: Path) -> Path:
    return next((root / "logs" / "train" / "multiruns").iterdir())


def quiet_sweep(root: Path, data, *overrides: str, tiny: list[str] = TINY) -> None:
    """`train.py -m overrides` on tiny models and synthetic data, without loggers; must succeed."""
    result = run_cli(
        "train.py", "-m", *overrides, *tiny, *data.overrides(), "logger=none", root=root
    )
    assert result.returncode == 0, result.stderr[-3000:]


def optuna_trials(root: Path) -> list[optuna.trial.FrozenTrial]:
    storage = f"sqlite:///{sweep_folder(root) / 'optuna.db'}"
    return optuna.load_study(study_name="seqmnist", storage=storage).trials


def summary_rows(root: Path) -> list[dict[str, str]]:
    with (sweep_folder(root) / "summary.csv").open() as stream:
        return list(csv.DictReader(stream))


def test_grid_sweep_runs_every_combination_in_its_own_folder_and_summarises_them(
    tmp_path, synthetic_mnist
):
    grid = ["model.hidden=8,16", "optimizer=adadelta,momentum"]
    result = run_cli("train.py", "-m", *grid, *TINY, *synthetic_mnist.overrides(), root=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Sweep summary (4 jobs, 0 failed)" in result.stdout
    assert "| job | status | swept |" in result.stdout

    rows = summary_rows(tmp_path)
    combinations = {
        tuple(
            o for o in row["overrides"].split() if o.split("=")[0] in {"model.hidden", "optimizer"}
        )
        for row in rows
    }
    expected = {
        (f"model.hidden={h}", f"optimizer={o}") for h in (8, 16) for o in ("adadelta", "momentum")
    }
    assert combinations == expected
    assert all(row["status"] == "completed" and 0 <= float(row["test/acc"]) <= 1 for row in rows)
    folder = sweep_folder(tmp_path)
    assert all((folder / row["job"] / "tensorboard").is_dir() for row in rows)
    # one job at a time: each keeps torch's default threads, recorded per job
    assert {row["threads"] for row in rows} == {str(torch_default_threads())}
    assert {row["device"] for row in rows} == {"cpu"}


def test_a_failing_job_is_recorded_with_its_error_and_the_others_complete(
    tmp_path, synthetic_mnist
):
    result = run_cli(
        "train.py", "-m", "model.hidden=8,0,16", *TINY, *synthetic_mnist.overrides(), root=tmp_path
    )
    assert "Sweep summary (3 jobs, 1 failed)" in result.stdout, result.stderr[-3000:]
    # after writing and printing its summary, the sweep says it failed: scripts and CI can tell
    assert result.returncode == 1
    assert "error: 1 of 3 jobs failed" in result.stderr
    assert "Traceback" not in result.stderr
    by_hidden = {
        re.search(r"model.hidden=(\d+)", row["overrides"]).group(1): row
        for row in summary_rows(tmp_path)
    }
    assert by_hidden["0"]["status"] == "failed"
    assert "model.hidden=0 is invalid" in by_hidden["0"]["error"]
    assert by_hidden["8"]["status"] == by_hidden["16"]["status"] == "completed"


def test_optuna_search_continues_its_study_up_to_n_trials_when_run_again(tmp_path, synthetic_mnist):
    for n_trials in (2, 4):
        quiet_sweep(
            tmp_path, synthetic_mnist, "hparams_search=optuna", f"hydra.sweeper.n_trials={n_trials}"
        )
        trials = optuna_trials(tmp_path)
        assert [trial.number for trial in trials] == list(range(n_trials))
        assert all(trial.state == optuna.trial.TrialState.COMPLETE for trial in trials)
    # the continued study explored new points instead of replaying the first ones
    assert len({tuple(sorted(trial.params.items())) for trial in trials}) == 4
    # each trial's value is what its own job measured, with the values it sampled
    for trial in trials:
        job = json.loads((Path(trial.user_attrs["job_folder"]) / "result.json").read_text())
        assert trial.value == job["metrics"]["val/acc_best"]
        assert {f"{name}={value}" for name, value in trial.params.items()} <= set(job["overrides"])


def test_a_failing_optuna_trial_is_marked_failed_and_the_search_goes_on(tmp_path, synthetic_mnist):
    # layers=0 is rejected by the config checks; the seeded sampler draws both values in 4 trials
    quiet_sweep(
        tmp_path,
        synthetic_mnist,
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.sampler.seed=1",
        "hydra.sweeper.params={model.layers:'choice(0,1)'}",
    )
    trials = optuna_trials(tmp_path)
    assert len(trials) == 4
    assert {trial.params["model.layers"] for trial in trials} == {0, 1}
    for trial in trials:
        expected = "FAIL" if trial.params["model.layers"] == 0 else "COMPLETE"
        assert trial.state.name == expected


def test_time_to_target_search_minimises_training_seconds_and_marks_a_miss_as_infinity(
    tmp_path, synthetic_mnist
):
    # what is watched decides: val/loss (about 2.3) meets a target of 1.0 at the first
    # validation; val/acc does not, and the tiny budget stops those trials there
    quiet_sweep(
        tmp_path,
        synthetic_mnist,
        "hparams_search=time_to_target",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.sampler.seed=1",
        "model.hidden=8",
        "model.layers=1",
        "optimizer.lr=0.003",
        "callbacks.time_to_target.target=1.0",
        "callbacks.time_to_target.budget_seconds=0.001",
        "callbacks.time_to_target.monitor=choice(val/loss,val/acc)",
    )
    storage = f"sqlite:///{sweep_folder(tmp_path) / 'optuna.db'}"
    trials = optuna.load_study(study_name="time_to_1.0", storage=storage).trials
    monitors = [trial.params["callbacks.time_to_target.monitor"] for trial in trials]
    assert sorted(set(monitors)) == ["val/acc", "val/loss"]
    results = {
        folder.parent.name: result_metrics(folder.parent)["train/seconds_to_target"]
        for folder in sweep_folder(tmp_path).glob("*/result.json")
    }
    for trial, monitor in zip(trials, monitors, strict=True):
        if monitor == "val/acc":
            assert trial.value == float("inf")
        else:
            assert 0 < trial.value < float("inf")
    # each trial's value is what its job measured
    assert sorted(trial.value for trial in trials) == sorted(results.values())
    # the summary shows the objective beside the accuracies
    assert sorted(row["train/seconds_to_target"] for row in summary_rows(tmp_path)) == sorted(
        f"{seconds:.4f}" for seconds in results.values()
    )


@pytest.mark.parametrize("launcher", ["local_parallel", "submitit_local"])
def test_launcher_plugin_runs_the_jobs_of_a_sweep(tmp_path, synthetic_mnist, launcher):
    result = run_cli(
        "train.py",
        "-m",
        f"hydra/launcher={launcher}",
        "model.hidden=8,16",
        *TINY,
        *synthetic_mnist.overrides(),
        "logger=none",
        root=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = summary_rows(tmp_path)
    assert [row["status"] for row in rows] == ["completed", "completed"]
    if launcher == "local_parallel":  # one job per core by default: one thread each
        assert [row["threads"] for row in rows] == ["1", "1"]


def test_parallel_jobs_share_one_new_mlflow_store_every_run_reaching_it(tmp_path, synthetic_mnist):
    result = run_cli(
        "train.py",
        "-m",
        "logger=mlflow",
        "hydra/launcher=local_parallel",
        "hydra.launcher.n_jobs=2",
        "model.hidden=8,9,10,11",
        *TINY,
        *synthetic_mnist.overrides(),
        root=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert [row["status"] for row in summary_rows(tmp_path)] == ["completed"] * 4
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'logs' / 'mlflow' / 'mlruns.db'}")
    (sweep,) = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    experiment = client.get_experiment_by_name(f"train/multiruns/{sweep.name}")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(run.data.params["model/hidden"] for run in runs) == ["10", "11", "8", "9"]
    assert all(run.info.status == "FINISHED" for run in runs)


def test_ctrl_c_stops_a_local_parallel_sweep_without_starting_its_queued_jobs(
    tmp_path, synthetic_mnist
):
    sweep = [
        "-m",
        "hydra/launcher=local_parallel",
        "hydra.launcher.n_jobs=1",
        "model.hidden=8,9,10",
        *TINY,
        *synthetic_mnist.overrides(),
        "logger=none",
        # the first job is interrupted at its 2nd step; a job that starts after it would complete
        *ctrl_c_at_step(tmp_path / "pressed"),
    ]
    returncode, stderr = run_to_interruption("train.py", *sweep, root=tmp_path)
    assert returncode == INTERRUPTED_EXIT_CODE
    assert "Interrupted (Ctrl-C)" in stderr and "Traceback" not in stderr
    folder = sweep_folder(tmp_path)
    first = result_of(folder / "0")
    assert first["status"] == "failed" and "Ctrl-C" in first["error"]
    assert not (folder / "1").exists() and not (folder / "2").exists()


@pytest.fixture
def odd_sized_synthetic_mnist(tmp_path):
    """61 test images: two ranks cannot split them evenly, so padding would show in the accuracy."""
    return write_synthetic_mnist(tmp_path / "odd", test_size=61)


def test_ddp_sim_with_the_default_logger_and_callbacks_tests_like_a_single_process_eval(
    tmp_path, odd_sized_synthetic_mnist
):
    samples = tmp_path / "samples"
    overrides = [
        "trainer=ddp_sim",
        *QUICK[1:],
        "trainer.max_epochs=2",
        # the default logger, and a CSV beside it: its writer must survive ddp_spawn's new
        # processes; and a tracker, which rank 0 alone writes to
        "logger=[tensorboard,csv,mlflow]",
        "+callbacks.record._target_=helpers.recording.RecordTrainingSamples",
        f"+callbacks.record.folder={samples}",
    ]
    ddp_accuracy, single_process, run_dir = train_then_evaluate(
        tmp_path, odd_sized_synthetic_mnist, *overrides, test_callbacks=True
    )
    assert ddp_accuracy == pytest.approx(single_process, abs=1e-6)
    # counted out of 61 images, not 62: no image was repeated to even out the two ranks
    assert result_metrics(run_dir)["test/images"] == 61
    assert ddp_accuracy * 61 == pytest.approx(round(ddp_accuracy * 61), abs=1e-4)
    assert_two_ranks_train_on_disjoint_halves(samples, training_images=200)
    # the test-set figures, whose confusion matrix is summed over both ranks' shards
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert {"test/confusion_matrix", "test/misclassified"} <= set(events.Tags()["images"])
    assert_csv_keeps_fit_and_test_columns(run_dir, test_images=61)
    assert_one_tracker_run(tmp_path, run_dir)


def assert_one_tracker_run(root: Path, run_dir: Path) -> None:
    """Rank 0 alone wrote to MLflow: one run, with the test accuracy the run recorded."""
    client = mlflow.MlflowClient(f"sqlite:///{root / 'logs' / 'mlflow' / 'mlruns.db'}")
    (tracked,) = client.search_runs([client.get_experiment_by_name("train").experiment_id])
    assert tracked.data.metrics["test/acc"] == pytest.approx(
        result_metrics(run_dir)["test/acc"], abs=1e-6
    )


def assert_two_ranks_train_on_disjoint_halves(samples: Path, training_images: int) -> None:
    """In each of the two epochs, rank 0 and rank 1 trained on disjoint halves of the images."""
    for epoch in ("0", "1"):
        shards = [samples_per_epoch(samples, rank)[epoch] for rank in (0, 1)]
        assert [len(shard) for shard in shards] == [training_images // 2] * 2
        assert len(set(shards[0]) | set(shards[1])) == training_images


def assert_csv_keeps_fit_and_test_columns(run_dir: Path, test_images: int) -> None:
    with (run_dir / "csv" / "metrics.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert {"train/loss_epoch", "val/acc", "test/acc"} <= set(rows[0])
    assert [float(row["test/images"]) for row in rows if row["test/images"]] == [test_images]


def test_plain_ddp_relaunching_the_script_works_with_every_logger_and_no_seed(
    tmp_path, synthetic_mnist
):
    # seed=null: each relaunched process draws its own numbers, yet the ranks must share one
    # epoch order (rank 0's), or their shards would overlap
    samples = tmp_path / "samples"
    result = run_cli(
        "train.py",
        "trainer=ddp_sim",
        "trainer.strategy=ddp",
        "logger=[tensorboard,csv,mlflow,wandb]",
        "seed=null",
        *QUICK[1:],
        "trainer.max_epochs=2",
        *synthetic_mnist.overrides(),
        "+callbacks.record._target_=helpers.recording.RecordTrainingSamples",
        f"+callbacks.record.folder={samples}",
        root=tmp_path,
        test_callbacks=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("optimized_metric") == 1  # the config tree, from rank 0 only
    (run_dir,) = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert_csv_keeps_fit_and_test_columns(run_dir, test_images=synthetic_mnist.test_size)
    assert_two_ranks_train_on_disjoint_halves(
        samples, training_images=synthetic_mnist.train_size - 40
    )
    # the trackers hear from rank 0 only: one run each
    assert_one_tracker_run(tmp_path, run_dir)
    assert len(list((tmp_path / "logs" / "wandb" / "wandb").glob("offline-run-*"))) == 1


def test_ddp_sim_works_inside_a_sweep_for_each_network(tmp_path, synthetic_mnist):
    # each network at its default size: the LSTM, the state-space model and the Legendre memory
    quiet_sweep(
        tmp_path, synthetic_mnist, "trainer=ddp_sim", "model=recurrent,s4d,lmu", tiny=TINY[1:]
    )
    rows = summary_rows(tmp_path)
    assert [row["status"] for row in rows] == ["completed"] * 3
    assert all(0 <= float(row["test/acc"]) <= 1 for row in rows)


def torch_default_threads() -> int:
    probe = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(probe.stdout)


def completed() -> RunResult:
    return RunResult(COMPLETED, [], 1.0)


def failed(for_settings: bool) -> RunResult:
    return RunResult("failed", [], 1.0, error="E: x", failed_for_settings=for_settings)


@pytest.mark.parametrize(
    ("results", "searching", "fails"),
    [
        ([completed(), completed()], False, False),
        ([completed(), failed(True)], False, True),  # a grid: any failed job
        ([completed(), failed(True)], True, False),  # a search: its settings told the sampler
        ([failed(True), failed(True)], True, True),  # a search where nothing ran
        ([completed(), failed(False)], True, True),  # a search broken by something else
    ],
)
def test_which_sweeps_end_with_a_non_zero_exit_code(results, searching, fails):
    assert (sweep_failure(results, searching) is not None) == fails
