"""Every benchmark script runs end to end on tiny settings and writes its report (real MNIST)."""

import subprocess
import sys

import pytest
from helpers.runs import REAL_DATA_DIR, REPO_ROOT

from seqmnist.data.sources import prepare_mnist

SHORT_TRAINING = [
    "--override",
    "trainer.max_epochs=1",
    "--override",
    "+trainer.limit_train_batches=3",
]


@pytest.fixture(scope="module")
def real_mnist() -> None:
    prepare_mnist(REAL_DATA_DIR)


def run_benchmark(script: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / script), *arguments],
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "arguments", "report", "heading"),
    [
        ("throughput.py", ["--steps", "2"], "throughput.md", "# Throughput on this machine"),
        (
            "time_to_accuracy.py",
            [*SHORT_TRAINING, "--every", "2"],
            "time_to_accuracy.md",
            "# Time to accuracy on this machine",
        ),
        (
            "sweep_throughput.py",
            ["--batches", "2", "--grid", "model.hidden=8"],
            "sweep_throughput.md",
            "# Sweep throughput on this machine",
        ),
        (
            "precision.py",
            [*SHORT_TRAINING, "--epochs", "1"],
            "precision.md",
            "# bf16-mixed against fp32",
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
