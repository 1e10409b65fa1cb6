"""The Optuna sweeper on current Optuna: trials told truthfully, searches that continue, many
sweeps on one study, and studies of the old sweeper."""

import math
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from helpers.runs import QUICK, ctrl_c_at_step, result_of, run_cli, run_to_interruption, start_cli
from hydra.core.utils import JobReturn, JobStatus
from optuna.trial import TrialState

from hydra_plugins.seqmnist_optuna.optuna_sweeper import OptunaSweeper, open_storage
from seqmnist.machine import available_cores

OPTUNA_2_STUDY = Path(__file__).parent / "data" / "optuna2_study.db"
# the search chooses model.hidden itself; a fixed value after it would win
TINY = [o for o in QUICK if not o.startswith("model.hidden")] + [
    "trainer.max_epochs=1",
    "+trainer.limit_train_batches=2",
    "logger=none",
]


def search(synthetic_mnist, *overrides: str) -> list[str]:
    return ["-m", "hparams_search=optuna", *TINY, *synthetic_mnist.overrides(), *overrides]


def study_folder(root: Path) -> Path:
    return root / "logs" / "train" / "multiruns" / "optuna_seqmnist"


def trials_in(storage: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="seqmnist", storage=open_storage(storage)).trials


def job(status: JobStatus, value: object) -> JobReturn:
    returned = JobReturn()
    returned.status = status
    returned._return_value = value
    return returned


@pytest.mark.parametrize(
    ("direction", "returned", "error"),
    [
        ("maximize", None, "the job returned no value"),
        ("maximize", math.nan, "the job returned nan"),
        ("maximize", math.inf, "the job returned inf"),
        ("minimize", -math.inf, "the job returned -inf"),
    ],
)
def test_a_job_without_a_usable_value_is_a_failed_trial_with_its_reason(direction, returned, error):
    sweeper = OptunaSweeper(optuna.samplers.RandomSampler(), direction, None, None, 1, 1)
    study = optuna.create_study(direction=direction)
    sweeper._tell(study, study.ask(), job(JobStatus.COMPLETED, returned))
    (trial,) = study.trials
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["error"] == error


def test_a_job_that_raised_is_a_failed_trial_naming_the_error():
    sweeper = OptunaSweeper(optuna.samplers.RandomSampler(), "maximize", None, None, 1, 1)
    study = optuna.create_study(direction="maximize")
    sweeper._tell(study, study.ask(), job(JobStatus.FAILED, ValueError("bad value")))
    assert study.trials[0].user_attrs["error"] == "ValueError: bad value"


def test_infinity_is_the_worst_value_a_minimising_search_can_record():
    # time_to_target: a trial that never reached the target measured infinite seconds
    sweeper = OptunaSweeper(optuna.samplers.RandomSampler(), "minimize", None, None, 1, 1)
    study = optuna.create_study(direction="minimize")
    sweeper._tell(study, study.ask(), job(JobStatus.COMPLETED, math.inf))
    assert study.trials[0].state == TrialState.COMPLETE
    assert study.trials[0].value == math.inf


def test_an_interrupted_search_continues_from_its_storage_losing_only_the_running_trial(
    tmp_path, synthetic_mnist
):
    overrides = search(
        synthetic_mnist,
        "hydra.sweeper.n_trials=3",
        # the first trial's job is interrupted at its 2nd step; later jobs are not
        *ctrl_c_at_step(tmp_path / "pressed"),
    )
    returncode, stderr = run_to_interruption("train.py", *overrides, root=tmp_path)
    # Ctrl-C during training: Lightning's exit code, as for a run alone
    assert returncode == 1, stderr[-3000:]
    assert "Traceback" not in stderr
    storage = f"sqlite:///{study_folder(tmp_path) / 'optuna.db'}"
    (interrupted,) = trials_in(storage)
    assert interrupted.state == TrialState.FAIL
    assert interrupted.user_attrs["error"] == "the search was interrupted before the job ended"

    again = run_cli("train.py", *overrides, root=tmp_path, test_callbacks=True)
    assert again.returncode == 0, again.stderr[-3000:]
    trials = trials_in(storage)
    # the interrupted trial does not count: the re-run completes the 3 trials asked for
    assert [trial.number for trial in trials] == [0, 1, 2, 3]
    assert [trial.state for trial in trials[1:]] == [TrialState.COMPLETE] * 3


@pytest.mark.parametrize(
    "storage",
    ["sqlite:///${hydra.sweep.dir}/optuna.db", "journal:${hydra.sweep.dir}/optuna.journal"],
    ids=["sqlite", "journal"],
)
def test_two_sweeps_at_once_run_n_trials_in_total_on_one_study(tmp_path, synthetic_mnist, storage):
    overrides = search(
        synthetic_mnist, "hydra.sweeper.n_trials=5", f"hydra.sweeper.storage={storage}", "threads=1"
    )
    workers = [start_cli("train.py", *overrides, root=tmp_path) for _ in range(2)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=600)
        assert worker.returncode == 0, stderr[-3000:]
    trials = trials_in(storage.replace("${hydra.sweep.dir}", str(study_folder(tmp_path))))
    assert sorted(trial.number for trial in trials) == [0, 1, 2, 3, 4]
    assert all(trial.state == TrialState.COMPLETE for trial in trials)
    folders = {trial.user_attrs["job_folder"] for trial in trials}
    assert len(folders) == 5
    for trial in trials:
        assert (
            trial.value
            == result_of(Path(trial.user_attrs["job_folder"]))["metrics"]["val/acc_best"]
        )


def test_trials_launched_through_local_parallel_get_their_share_of_the_cores(
    tmp_path, synthetic_mnist
):
    result = run_cli(
        "train.py",
        *search(
            synthetic_mnist,
            "hydra/launcher=local_parallel",
            "hydra.launcher.n_jobs=2",
            "hydra.sweeper.n_jobs=2",
            "hydra.sweeper.n_trials=2",
        ),
        root=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    trials = trials_in(f"sqlite:///{study_folder(tmp_path) / 'optuna.db'}")
    assert len(trials) == 2
    for trial in trials:
        assert result_of(Path(trial.user_attrs["job_folder"]))["threads"] == max(
            1, available_cores() // 2
        )


def test_a_study_of_optuna_2_stops_with_the_upgrade_command_which_loads_it(
    tmp_path, synthetic_mnist
):
    old = study_folder(tmp_path) / "optuna.db"
    old.parent.mkdir(parents=True)
    shutil.copy(OPTUNA_2_STUDY, old)
    result = run_cli("train.py", *search(synthetic_mnist), root=tmp_path)
    assert result.returncode == 2
    command = f"optuna storage upgrade --storage sqlite:///{old}"
    assert command in result.stderr
    assert "Traceback" not in result.stderr
    optuna_cli = Path(sys.executable).with_name("optuna")
    subprocess.run([str(optuna_cli), *command.split()[1:]], check=True, capture_output=True)
    assert [trial.value for trial in trials_in(f"sqlite:///{old}")] == [0.5, 0.7]


def test_a_study_file_that_is_not_a_database_is_refused_before_any_trial(tmp_path, synthetic_mnist):
    study_folder(tmp_path).mkdir(parents=True)
    garbage = study_folder(tmp_path) / "optuna.db"
    garbage.write_bytes(b"not a database" * 100)
    result = run_cli("train.py", *search(synthetic_mnist), root=tmp_path)
    assert result.returncode == 2
    assert (
        f"The study storage sqlite:///{garbage} is not a readable SQLite database" in result.stderr
    )
    assert "Move the file away" in result.stderr and "Traceback" not in result.stderr
    assert garbage.read_bytes() == b"not a database" * 100
    assert not list(study_folder(tmp_path).glob("*/result.json"))


def test_an_impossible_search_range_is_refused_naming_its_key(tmp_path, synthetic_mnist):
    impossible = "hydra.sweeper.params={model.hidden: 'interval(0, -5)'}"
    result = run_cli("train.py", *search(synthetic_mnist), impossible, root=tmp_path)
    assert result.returncode == 2
    assert "error: model.hidden=interval(0, -5) is not a search range" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("logs/train/multiruns/*/*/result.json"))


def test_a_search_of_which_every_trial_failed_exits_1(tmp_path, synthetic_mnist):
    result = run_cli(
        "train.py",
        *search(synthetic_mnist),
        "hydra.sweeper.params={model.hidden: 'choice(0, -1)'}",
        "hydra.sweeper.n_trials=2",
        root=tmp_path,
    )
    assert result.returncode == 1
    assert "every trial of the search failed" in result.stderr
