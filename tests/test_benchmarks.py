"""Every benchmark script runs end to end on tiny settings and writes its report (real MNIST)."""

import math
import re
import subprocess

import pytest
from helpers.runs import REAL_DATA_DIR, REPO_ROOT, compose_train, run_python_script
from omegaconf import OmegaConf

from seqmnist.callbacks import SECONDS_TO_TARGET
from seqmnist.records.results import RunResult, write_result

SHORT_TRAINING = [
    "--override",
    "trainer.max_epochs=1",
    "--override",
    "+trainer.limit_train_batches=3",
]


def run_benchmark(script: str, *arguments: str) -> subprocess.CompletedProcess:
    return run_python_script(REPO_ROOT / "benchmarks" / script, *arguments)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "arguments", "report", "heading"),
    [
        ("throughput.py", ["--steps", "2"], "throughput.md", "# Throughput (CPU "),
        (
            "time_to_accuracy.py",
            [*SHORT_TRAINING, "--every", "2"],
            "time_to_accuracy.md",
            "# Time to accuracy (CPU ",
        ),
        (
            "sweep_throughput.py",
            ["--batches", "2", "--grid", "model.hidden=8", "--rounds", "1"],
            "sweep_throughput.md",
            "# Sweep throughput (CPU ",
        ),
        (
            "state_space.py",
            ["--batches", "2", "--warmup", "1", "--rounds", "1"],
            "state_space.md",
            "# Three families on 784 steps (CPU ",
        ),
        (
            "precision.py",
            [*SHORT_TRAINING, "--epochs", "1"],
            "precision.md",
            "# bf16-mixed against fp32 (CPU ",
        ),
    ],
)
def test_benchmark_runs_on_tiny_settings_and_writes_its_report(
    tmp_path, real_mnist, script, arguments, report, heading
):
    result = run_benchmark(
        script, "--data-dir", str(REAL_DATA_DIR), "--out", str(tmp_path), *arguments
    )
    assert result.returncode == 0, result.stderr[-3000:]
    written = (tmp_path / report).read_text()
    assert written.startswith(heading)
    assert written.rstrip() in result.stdout


def write_trial(trial_dir, seconds: float, *overrides: str) -> None:
    """A finished time-to-target trial's folder: Hydra's saved config and its result.json."""
    (trial_dir / ".hydra").mkdir(parents=True)
    OmegaConf.save(compose_train(trial_dir, *overrides), trial_dir / ".hydra" / "config.yaml")
    metrics = {SECONDS_TO_TARGET: seconds, "val/acc_best": 0.975, "test/acc": 0.978}
    write_result(trial_dir, RunResult("completed", list(overrides), 30.0, metrics))


def search_report(tmp_path, sweep) -> str:
    result = run_benchmark("search_report.py", str(sweep), "--out", str(tmp_path / "report.md"))
    assert result.returncode == 0, result.stderr[-3000:]
    return (tmp_path / "report.md").read_text()


def test_search_report_lists_trials_fastest_first_and_the_fastest_of_each_model_size(tmp_path):
    sweep = tmp_path / "optuna_time_to_0.975"
    trials = {"a": (64, 2, 20.0), "b": (64, 2, 15.0), "c": (32, 1, math.inf)}
    for name, (hidden, layers, seconds) in trials.items():
        write_trial(sweep / name, seconds, f"model.hidden={hidden}", f"model.layers={layers}")
    frontier, every_trial = search_report(tmp_path, sweep).split("## Every trial")
    assert frontier.count("| 64x2 lstm |") == 1 and "15.0 s" in frontier and "32x1" not in frontier
    times = re.findall(r"\| (\d+\.\d s|stopped \(not reached\)) \|", every_trial)
    assert times == ["15.0 s", "20.0 s", "stopped (not reached)"]


def test_search_report_shows_a_schedule_set_by_max_steps_in_steps(tmp_path):
    sweep = tmp_path / "optuna_time_to_0.988"
    write_trial(sweep / "a", 50.0, "trainer.max_epochs=4", "+trainer.max_steps=1063")
    write_trial(sweep / "b", 60.0, "trainer.max_epochs=3")
    report = search_report(tmp_path, sweep)
    assert "| 1063 steps | 50.0 s |" in report and "| 3 epochs | 60.0 s |" in report


def test_the_results_table_is_written_from_run_folders_with_n_and_the_machine(tmp_path):
    for seed, accuracy in enumerate((0.99, 0.98)):
        run = tmp_path / "sweep" / str(seed)
        (run / ".hydra").mkdir(parents=True)
        OmegaConf.save(compose_train(run, "experiment=fast_97"), run / ".hydra" / "config.yaml")
        write_result(
            run,
            RunResult(
                "completed", ["experiment=fast_97", f"seed={seed}"], 60.0,
                {"test/acc": accuracy, "val/acc_best": accuracy, "model/params": 50_000.0},
                device="cpu", precision="bf16-mixed", stack={"torch": "2.14.1"},
                hardware={"cpu": "a CPU"},
            ),
        )  # fmt: skip
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results-table:start -->\nold\n<!-- results-table:end -->\nend\n")
    result = run_benchmark(
        "results_table.py", str(tmp_path / "sweep"), "--readme", str(readme),
        "--out", str(tmp_path / "results.md"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    row = "| `python train.py experiment=fast_97` | 2 | 98.50 ± 0.71 % (98.00-99.00) |"
    text = readme.read_text()
    assert row in text and "old" not in text and text.endswith("end\n")
    assert "Measured on: CPU a CPU, device cpu; torch 2.14.1." in text
