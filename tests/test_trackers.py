"""MLflow and Weights & Biases as a researcher reads them: through MlflowClient, a real
`mlflow server`'s REST API, and wandb's own reader of an offline run."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from helpers.runs import QUICK, result_of, run_cli
from helpers.servers import LocalServer, free_port, wait_until_answering
from helpers.synthetic import write_synthetic_mnist

from seqmnist.machine import hardware, software_stack

FIGURES = {"test/confusion_matrix.png", "test/misclassified.png", "test/reading_row_by_row.png"}


def store_uri(root: Path) -> str:
    return f"sqlite:///{root / 'logs' / 'mlflow' / 'mlruns.db'}"


def train(root: Path, *overrides: str):
    """`python train.py` (`-m` first, if given) on a tiny LSTM and synthetic data, under `root`."""
    data = write_synthetic_mnist(root / "data")
    sweep = [o for o in overrides if o == "-m"]
    overrides = tuple(o for o in overrides if o != "-m")
    return run_cli(
        "train.py",
        *sweep,
        *QUICK,
        *data.overrides(),
        "trainer.max_epochs=2",
        "trainer.log_every_n_steps=1",
        *overrides,
        root=root,
    )


def runs_of(uri: str, experiment: str) -> list:
    client = mlflow.MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} in {uri}"
    return client.search_runs([found.experiment_id])


@pytest.fixture(scope="module")
def mlflow_run(tmp_path_factory):
    """One `logger=mlflow` run, read by several tests: (root, its run folder, its MLflow run)."""
    root = tmp_path_factory.mktemp("mlflow")
    result = train(root, "logger=mlflow", "tags=[smoke,rows]", "logger.mlflow.log_model=all")
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (root / "logs" / "train" / "runs").iterdir()
    (run,) = runs_of(store_uri(root), "train")
    return root, run_dir, run


class MlflowServer(LocalServer):
    def __init__(self, backend_store_uri: str, artifacts: Path) -> None:
        port = free_port()
        command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", "1"]
        command += ["--backend-store-uri", backend_store_uri]
        super().__init__([*command, "--artifacts-destination", str(artifacts)], port)
        wait_until_answering(f"{self.url}/health")


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow_server")
    server = MlflowServer(f"sqlite:///{folder / 'server.db'}", folder / "artifacts")
    yield server
    server.stop()


def test_the_sqlite_store_holds_the_runs_settings_curves_and_final_metrics(mlflow_run):
    root, run_dir, run = mlflow_run
    client = mlflow.MlflowClient(store_uri(root))
    assert run.data.params["model/hidden"] == "16"
    assert run.data.params["optimizer/_target_"] == "torch.optim.AdamW"
    # what the numbers depend on besides the settings
    assert run.data.params["machine/stack/torch"] == software_stack()["torch"]
    assert run.data.params["machine/hardware/cpu"] == hardware().cpu
    assert run.data.params["precision_choice"].startswith(run.data.params["trainer/precision"])
    assert len(client.get_metric_history(run.info.run_id, "train/loss_step")) > 2
    assert len(client.get_metric_history(run.info.run_id, "val/acc")) == 2
    metrics = result_of(run_dir)["metrics"]
    for name in ("test/acc", "test/loss", "val/acc_best", "model/params"):
        assert run.data.metrics[name] == pytest.approx(metrics[name], abs=1e-6)


def test_the_three_test_set_figures_are_artifacts_of_the_run(mlflow_run):
    root, _, run = mlflow_run
    client = mlflow.MlflowClient(store_uri(root))
    assert {artifact.path for artifact in client.list_artifacts(run.info.run_id, "test")} == FIGURES


def test_log_model_all_makes_the_best_and_last_checkpoints_artifacts(mlflow_run):
    root, run_dir, run = mlflow_run
    client = mlflow.MlflowClient(store_uri(root))
    folders = {artifact.path for artifact in client.list_artifacts(run.info.run_id)}
    best = Path(run.data.tags["tested_checkpoint"]).stem
    assert {best, "last"} <= folders
    (last,) = [
        a for a in client.list_artifacts(run.info.run_id, "last") if a.path.endswith(".ckpt")
    ]
    assert last.file_size == (run_dir / "checkpoints" / "last.ckpt").stat().st_size


def test_the_run_is_tagged_and_points_to_its_folder_and_checkpoint(mlflow_run):
    _, run_dir, run = mlflow_run
    tags = run.data.tags
    assert tags["smoke"] == tags["rows"] == "true"
    assert tags["run_folder"] == str(run_dir)
    assert Path(tags["tested_checkpoint"]).parent == run_dir / "checkpoints"
    assert tags["mlflow.runName"] == run_dir.name


def test_a_real_mlflow_server_serves_the_run_over_its_rest_api(mlflow_run):
    root, run_dir, run = mlflow_run
    server = MlflowServer(store_uri(root), root / "served_artifacts")
    try:
        search = {"experiment_ids": [run.info.experiment_id]}
        found = server.post("/api/2.0/mlflow/runs/search", search)
    finally:
        server.stop()
    (served,) = found["runs"]
    metrics = {metric["key"]: metric["value"] for metric in served["data"]["metrics"]}
    assert metrics["test/acc"] == pytest.approx(result_of(run_dir)["metrics"]["test/acc"], abs=1e-6)


def test_a_run_logs_to_a_tracking_server_figures_included(tmp_path, mlflow_server):
    result = train(tmp_path, "logger=mlflow", f"logger.mlflow.tracking_uri={mlflow_server.url}")
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = runs_of(mlflow_server.url, "train")
    (run_dir,) = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert run.data.metrics["test/acc"] == pytest.approx(
        result_of(run_dir)["metrics"]["test/acc"], abs=1e-6
    )
    client = mlflow.MlflowClient(mlflow_server.url)
    assert {artifact.path for artifact in client.list_artifacts(run.info.run_id, "test")} == FIGURES
    assert not (tmp_path / "logs" / "mlflow").exists()


def test_a_server_that_is_down_stops_the_run_before_training_naming_it(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    result = train(tmp_path, "logger=mlflow", f"logger.mlflow.tracking_uri={uri}")
    assert result.returncode == 2
    assert f"logger.mlflow: the MLflow tracking server {uri} does not answer" in result.stderr
    assert "Traceback" not in result.stderr
    (run_dir,) = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert not (run_dir / "checkpoints").exists()
    assert result_of(run_dir)["status"] == "failed"


def test_a_damaged_sqlite_store_stops_the_run_before_training_saying_what_to_do(tmp_path):
    store = tmp_path / "logs" / "mlflow" / "mlruns.db"
    store.parent.mkdir(parents=True)
    store.write_bytes(b"not a database, " * 100)
    result = train(tmp_path, "logger=mlflow")
    assert result.returncode == 2
    assert f"the MLflow store sqlite:///{store} cannot be written" in result.stderr
    assert "move it away" in result.stderr
    assert store.read_bytes() == b"not a database, " * 100


def test_a_sqlite_store_held_by_another_process_stops_the_run_naming_the_lock(tmp_path):
    store = tmp_path / "logs" / "mlflow" / "mlruns.db"
    store.parent.mkdir(parents=True)
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # as another process writing to it would
    try:
        result = train(tmp_path, "logger=mlflow")
    finally:
        holder.close()
    assert result.returncode == 2
    assert f"the MLflow store sqlite:///{store} cannot be written" in result.stderr
    assert "database is locked" in result.stderr and "wait for it" in result.stderr


def test_a_store_failing_mid_run_costs_the_tracker_its_record_not_the_run(tmp_path, monkeypatch):
    from lightning.pytorch.loggers import MLFlowLogger

    def store_gone(*_, **__):
        raise ConnectionError("the store went away")

    monkeypatch.setattr(MLFlowLogger, "log_metrics", store_gone)
    result = train(tmp_path, "logger=mlflow")
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert result_of(run_dir)["status"] == "completed"
    assert (run_dir / "checkpoints" / "last.ckpt").exists()
    log = (run_dir / "train.log").read_text()
    assert "Not everything reached the trackers" in log
    assert "the store went away" in log


def test_a_resumed_fit_continues_its_tracker_runs(tmp_path):
    # a schedule planned for the run's length could not be stretched to two epochs
    both = ["logger=[mlflow,wandb]", "scheduler=none"]
    first = train(tmp_path, *both, "trainer.max_epochs=1")
    assert first.returncode == 0, first.stderr[-3000:]
    (run_dir,) = (tmp_path / "logs" / "train" / "runs").iterdir()
    resumed = train(tmp_path, *both, f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    (run,) = runs_of(store_uri(tmp_path), "train")
    history = mlflow.MlflowClient(store_uri(tmp_path)).get_metric_history(
        run.info.run_id, "val/acc"
    )
    assert sorted(point.step for point in history) == [point.step for point in history]
    assert len(history) == 2
    offline = sorted((tmp_path / "logs" / "wandb" / "wandb").glob("offline-run-*"))
    assert len({wandb_records(folder, "run")[0]["run_id"] for folder in offline}) == 1


def wandb_inspect(offline_run: Path, *options: str) -> str:
    """What wandb's own reader of an offline run's transaction log prints (`wandb leet inspect`)."""
    wandb_cli = Path(sys.executable).with_name("wandb")
    printed = subprocess.run(
        [str(wandb_cli), "leet", "inspect", "--json", *options, str(offline_run)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return printed.stdout


def wandb_records(offline_run: Path, kind: str) -> list[dict]:
    records = [json.loads(line) for line in wandb_inspect(offline_run).splitlines()]
    return [record[kind] for record in records if record.get("type") == kind]


def test_an_offline_wandb_run_holds_the_metric_history_figures_and_outcome(tmp_path):
    result = train(tmp_path, "logger=wandb", "tags=[smoke]")
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "logs" / "train" / "runs").iterdir()
    (offline,) = (tmp_path / "logs" / "wandb" / "wandb").glob("offline-run-*")
    history = [record["item"] for record in wandb_records(offline, "history")]
    assert len([item for item in history if "train/loss_step" in item]) > 2
    assert len([item for item in history if "val/acc" in item]) == 2
    summary = json.loads(wandb_inspect(offline, "--summary"))
    assert summary["state"] == "finished" and summary["tags"] == ["smoke"]
    metrics = result_of(run_dir)["metrics"]
    for name in ("test/acc", "val/acc_best", "model/params"):
        assert float(summary["summary"][name]) == pytest.approx(metrics[name], abs=1e-6)
    assert {"test/confusion_matrix", "test/misclassified", "test/reading_row_by_row"} <= set(
        summary["summary"]
    )
    assert summary["summary"]["run_folder"] == str(run_dir)


def test_every_job_of_a_sweep_is_its_own_tracker_run_and_seeds_of_a_setting_share_a_group(
    tmp_path,
):
    result = train(
        tmp_path, "-m", "logger=[mlflow,wandb]", "model.hidden=8,16", "seed=0,1",
        "trainer.max_epochs=1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    runs = runs_of(store_uri(tmp_path), f"train/multiruns/{sweep.name}")
    names = sorted(run.info.run_name for run in runs)
    # the job's number and the keys that make its setting, not its data paths
    assert names[0].startswith("0 ") and "model.hidden=8" in names[0] and "seed=0" in names[0]
    assert not any("data_dir" in name or "checksums" in name for name in names)
    settings = {run.info.run_name: run.data.tags["setting"] for run in runs}
    assert len(set(settings.values())) == 2 and all("seed" not in s for s in settings.values())
    offline = sorted((tmp_path / "logs" / "wandb" / "wandb").glob("offline-run-*"))
    records = [wandb_records(folder, "run")[0] for folder in offline]
    assert len({run["run_id"] for run in records}) == 4
    groups = sorted(run["run_group"] for run in records)
    assert groups[0] == groups[1] != groups[2] == groups[3]
    assert all(json.loads(wandb_inspect(f, "--summary"))["state"] == "finished" for f in offline)


def test_the_wandb_classes_lightning_imports_still_exist():
    # Lightning 2.6.6's WandbLogger imports these; a wandb release without them breaks logger=wandb
    from wandb import Artifact  # noqa: F401
    from wandb.sdk.lib import RunDisabled  # noqa: F401
    from wandb.wandb_run import Run  # noqa: F401


def test_wandb_online_without_a_login_stops_before_training_saying_how(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))
    result = train(tmp_path, "logger=wandb", "logger.wandb.offline=false")
    assert result.returncode == 2
    assert "Weights & Biases could not start the run online" in result.stderr
    assert "wandb login" in result.stderr and "logger.wandb.offline=true" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("logs/train/runs/*/checkpoints/*.ckpt"))


def test_an_eval_run_is_tracked_with_the_checkpoint_and_the_settings_it_was_trained_with(
    mlflow_run,
):
    root, run_dir, _ = mlflow_run
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    result = run_cli("eval.py", f"ckpt_path={checkpoint}", "logger=mlflow", root=root)
    assert result.returncode == 0, result.stderr[-3000:]
    (evaluated,) = runs_of(store_uri(root), "eval")
    assert evaluated.data.params["tested_checkpoint"] == str(checkpoint)
    assert evaluated.data.params["model/hidden"] == "16"
    (eval_dir,) = (root / "logs" / "eval" / "runs").iterdir()
    assert evaluated.data.metrics["test/acc"] == pytest.approx(
        result_of(eval_dir)["metrics"]["test/acc"], abs=1e-6
    )
