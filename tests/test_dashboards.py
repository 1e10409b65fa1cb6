"""A run's dashboards as a researcher sees them: a real TensorBoard server queried over HTTP."""

import json
import sys
import time
import urllib.parse
import urllib.request

import pytest
from helpers.runs import QUICK, printed_metric, run_cli
from helpers.servers import LocalServer, free_port
from helpers.synthetic import write_synthetic_mnist

from seqmnist.figures.export import export_figures


class TensorBoardServer(LocalServer):
    def __init__(self, logdir) -> None:
        port = free_port()
        command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        command += ["--load_fast=false", "--reload_interval=1"]
        # TensorBoard refuses a POST without its XSRF header
        super().__init__(command, port, headers={"X-XSRF-Protected": "1"})

    def get(self, path: str, **query: str) -> object:
        url = f"{self.url}{path}?{urllib.parse.urlencode(query)}" if query else f"{self.url}{path}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())

    def wait_for_run(self, timeout: float = 90) -> str:
        """The one run's name, once the server has loaded its test metrics (bounded wait)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                runs = self.get("/data/plugin/scalars/tags")
                for run, tags in runs.items():
                    if "test/acc" in tags:
                        return run
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError("TensorBoard did not serve the run's test metrics in time")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One run for the whole module: its tests only read what it wrote."""
    tmp_path = tmp_path_factory.mktemp("dashboards")
    synthetic = write_synthetic_mnist(tmp_path / "data")
    # a tiny dataset has fewer steps than the default logging interval
    overrides = [
        *QUICK,
        *synthetic.overrides(),
        "trainer.max_epochs=2",
        "trainer.log_every_n_steps=1",
    ]
    result = run_cli("train.py", *overrides, root=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path / "logs" / "train", printed_metric(result.stdout, "test/acc")


@pytest.fixture
def tensorboard(trained_run):
    server = TensorBoardServer(trained_run[0])
    yield server
    server.stop()


def test_scalars_tab_has_training_curves_learning_rate_and_the_printed_test_accuracy(
    trained_run, tensorboard
):
    run = tensorboard.wait_for_run()
    tags = set(tensorboard.get("/data/plugin/scalars/tags")[run])
    assert {
        "train/loss_step",
        "train/acc_step",
        "val/acc",
        "val/acc_best",
        "test/acc",
        "lr-AdamW",
    } <= tags
    points = tensorboard.get("/data/plugin/scalars/scalars", run=run, tag="test/acc")
    assert points[-1][2] == pytest.approx(trained_run[1], abs=1e-6)


def test_images_tab_has_confusion_matrix_misclassified_digits_and_row_by_row_reading(tensorboard):
    run = tensorboard.wait_for_run()
    images = set(tensorboard.get("/data/plugin/images/tags")[run])
    assert {"test/confusion_matrix", "test/misclassified", "test/reading_row_by_row"} <= images


def test_hparams_tab_lists_the_runs_settings_and_final_metrics(tensorboard):
    tensorboard.wait_for_run()
    experiment = tensorboard.post("/data/plugin/hparams/experiment", {"experimentName": ""})
    hparams = {info["name"] for info in experiment["hparamInfos"]}
    metrics = {info["name"]["tag"] for info in experiment["metricInfos"]}
    assert {"model/hidden", "model/layers", "optimizer/_target_", "data/batch_size"} <= hparams
    assert {"hparams/test_acc", "hparams/val_acc_best"} <= metrics


def test_figures_export_as_png_files(trained_run, tmp_path):
    run_dir = next(trained_run[0].glob("runs/*/tensorboard"))
    written = export_figures(run_dir, tmp_path / "figures")
    assert {path.name for path in written} == {
        "test_confusion_matrix.png",
        "test_misclassified.png",
        "test_reading_row_by_row.png",
    }
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in written)
