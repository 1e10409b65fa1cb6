"""MLflow and Weights & Biases as Lightning loggers, with what Lightning's own classes leave out:
a store checked before training (a server that is down, a locked or corrupt SQLite file), a run
continued from the id a checkpoint carries, figures and the run's outcome, and a logging failure
mid-run that costs the tracker its record, never the run."""

import logging
import os
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock
from lightning.fabric.utilities.logger import _convert_params, _flatten_dict
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import Logger, MLFlowLogger, TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from matplotlib.figure import Figure

from seqmnist.errors import SeqmnistError, one_line

log = logging.getLogger(__name__)

# where a checkpoint keeps the tracker runs it was logged to: {tracker: run id}
TRACKER_RUNS_KEY = "seqmnist_tracker_runs"
TIMEOUT_SECONDS = 5


class TrackerUnavailable(SeqmnistError):
    """A tracker's store cannot be written: refused before training starts."""


class MLflowTracker(MLFlowLogger):
    """Lightning's `MLFlowLogger` on a store it has checked: a local SQLite file (its folder made,
    artifacts beside it, one folder per experiment) or a tracking server that answers."""

    TRACKER = "mlflow"  # its key in a checkpoint's TRACKER_RUNS_KEY

    def __init__(
        self,
        experiment_name: str,
        tracking_uri: str,
        artifact_location: str | None = None,
        tags: Iterable[str] | Mapping[str, Any] | None = None,
        setting: str | None = None,
        **kwargs: Any,
    ) -> None:
        """`setting`: the run's overrides without its seed, a tag the seeds of one setting share."""
        local = tracking_uri.startswith("sqlite:///")
        if local and artifact_location:
            artifact_location = (Path(artifact_location) / experiment_name).resolve().as_uri()
        else:  # a server keeps artifacts where it was told to
            artifact_location = None
        if local:
            _ensure_sqlite_store(
                Path(tracking_uri.removeprefix("sqlite:///")),
                tracking_uri,
                experiment_name,
                artifact_location,
            )
        elif tracking_uri.startswith(("http://", "https://")):
            _ensure_server_answers(tracking_uri)
        super().__init__(
            experiment_name=experiment_name,
            tracking_uri=tracking_uri,
            artifact_location=artifact_location,
            tags={**_as_tag_dict(tags), **({"setting": setting} if setting else {})},
            **kwargs,
        )
        self.failed_writes: list[str] = []

    @staticmethod
    def resume_arguments(run_id: str) -> dict[str, Any]:
        """Lightning's own argument for logging into an earlier run."""
        return {"run_id": run_id}

    @property
    def tracker_run(self) -> str | None:
        return self.run_id

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        self._guarded("parameters", self._log_new_parameters, params)

    def _log_new_parameters(self, params: Any) -> None:
        # MLflow refuses to change a parameter: a resumed run keeps those it was started with
        logged = self.experiment.get_run(self.run_id).data.params
        flat = _flatten_dict(_convert_params(params))
        super().log_hyperparams({key: flat[key] for key in flat.keys() - logged.keys()})

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self._guarded("metrics", super().log_metrics, metrics, step)

    @rank_zero_only
    def finalize(self, status: str = "success") -> None:
        self._guarded("the run's end", super().finalize, status)

    def after_save_checkpoint(self, checkpoint_callback: ModelCheckpoint) -> None:
        self._guarded("checkpoints", super().after_save_checkpoint, checkpoint_callback)

    def log_figure(self, tag: str, figure: Figure, step: int) -> None:
        self._guarded(
            f"figure {tag}", self.experiment.log_figure, self.run_id, figure, f"{tag}.png"
        )

    @rank_zero_only  # other DDP ranks hold no run to tag
    def record_outcome(self, notes: Mapping[str, str]) -> None:
        for key, value in notes.items():
            self._guarded(f"tag {key}", self.experiment.set_tag, self.run_id, key, value)

    def _guarded(self, what: str, write: Callable[..., Any], *arguments: Any) -> None:
        """A failed write is remembered and told at the end; training goes on."""
        try:
            write(*arguments)
        except Exception as error:  # any failure of the store or the network
            if not self.failed_writes:
                log.warning("MLflow (%s) stopped taking %s: %s", self._tracking_uri, what, error)
            self.failed_writes.append(f"{what} ({one_line(error, 160)})")


class WandbTracker(WandbLogger):
    """Lightning's `WandbLogger` with tags from a list, and a run finished at the end of its job
    (a sweep's next job in the same process would otherwise log into it)."""

    TRACKER = "wandb"

    def __init__(
        self,
        save_dir: str = ".",
        offline: bool = False,
        tags: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        Path(save_dir).mkdir(parents=True, exist_ok=True)
        # said to wandb.init itself: its settings outlive a run in the process (a sweep's jobs)
        mode = "offline" if offline else os.environ.get("WANDB_MODE", "online")
        super().__init__(
            save_dir=save_dir, offline=offline, tags=list(tags or []), mode=mode, **kwargs
        )

    @staticmethod
    def resume_arguments(run_id: str) -> dict[str, Any]:
        """WandbLogger's own arguments for logging into an earlier run."""
        return {"id": run_id, "resume": "allow"}

    @property
    def experiment(self) -> Any:
        """The run, started on first use: online without a login or a network, say so. Lightning
        sets WANDB_MODE for an offline run and leaves it set: the next job's online run would
        start offline, so the variable is put back as it was."""
        import wandb  # installed: this logger was built

        mode = os.environ.get("WANDB_MODE")
        try:
            return super().experiment
        except wandb.errors.Error as error:
            raise TrackerUnavailable(
                f"Weights & Biases could not start the run online ({type(error).__name__}: "
                f"{one_line(error, 200)}). Log in with `wandb login` (or set WANDB_API_KEY), "
                f"check the network, or log offline: logger.wandb.offline=true (the default), "
                f"then upload with `wandb sync`."
            ) from error
        finally:
            if mode is None:
                os.environ.pop("WANDB_MODE", None)
            else:
                os.environ["WANDB_MODE"] = mode

    @property
    def tracker_run(self) -> str | None:
        return self.version

    def log_figure(self, tag: str, figure: Figure, step: int) -> None:
        self.log_image(tag, [figure], step=step)

    @rank_zero_only  # other DDP ranks see Lightning's dummy experiment, which has no summary
    def record_outcome(self, notes: Mapping[str, str]) -> None:
        self.experiment.summary.update(dict(notes))


def resume_arguments(logger_class: type, stored: Mapping[str, str] | None) -> dict[str, Any]:
    """What a tracker logger is built with to continue the run a checkpoint was logged to."""
    tracker = getattr(logger_class, "TRACKER", None)
    if tracker is None or tracker not in (stored or {}):
        return {}
    return logger_class.resume_arguments(stored[tracker])


def tracker_runs(loggers: Iterable[Logger]) -> dict[str, str]:
    """{tracker: run id} of the loggers that can continue a run: what a checkpoint stores."""
    return {
        logger.TRACKER: logger.tracker_run
        for logger in loggers
        if isinstance(logger, MLflowTracker | WandbTracker) and logger.tracker_run
    }


def figure_loggers(loggers: Iterable[Logger]) -> list[Logger]:
    """The loggers that show images: TensorBoard's IMAGES tab, MLflow artifacts, W&B media."""
    return [
        logger
        for logger in loggers
        if isinstance(logger, TensorBoardLogger | MLflowTracker | WandbTracker)
    ]


def log_figure(logger: Logger, tag: str, figure: Figure, step: int) -> None:
    if isinstance(logger, TensorBoardLogger):
        logger.experiment.add_figure(tag, figure, global_step=step, close=False)
    else:
        logger.log_figure(tag, figure, step)


def record_outcome(loggers: Iterable[Logger], metrics: Mapping[str, float], notes: dict) -> None:
    """The final numbers TensorBoard shows in its HPARAMS tab, and where the run's files are."""
    for logger in loggers:
        if isinstance(logger, MLflowTracker | WandbTracker):
            logger.log_metrics(dict(metrics))
            logger.record_outcome({key: str(value) for key, value in notes.items()})


def finish(loggers: Iterable[Logger]) -> list[str]:
    """End this job's tracker runs; return what could not be logged, one line per tracker."""
    lost = []
    for logger in loggers:
        if isinstance(logger, WandbTracker):
            import wandb  # installed: the logger was built

            if wandb.run is not None:
                wandb.finish()
        if isinstance(logger, MLflowTracker) and logger.failed_writes:
            failed = logger.failed_writes
            lost.append(
                f"{type(logger).__name__}: {len(failed)} writes failed, the first: {failed[0]}."
            )
    return lost


def _as_tag_dict(tags: Iterable[str] | Mapping[str, Any] | None) -> dict[str, str]:
    if isinstance(tags, Mapping):
        return {str(key): str(value) for key, value in tags.items()}
    return {str(tag): "true" for tag in tags or []}


def _ensure_sqlite_store(
    path: Path, uri: str, experiment_name: str, artifact_location: str | None
) -> None:
    """Check the file, then make its tables and the experiment, once: under a file lock, so the
    parallel jobs of a sweep never create the same tables or experiment at the same time (MLflow's
    own migration and `create_experiment` fail when they race)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{path}.lock"):
            database = sqlite3.connect(path, timeout=TIMEOUT_SECONDS)
            try:
                database.execute("PRAGMA schema_version").fetchone()
                database.execute(
                    "BEGIN IMMEDIATE"
                )  # waits out, then reports, a lock held elsewhere
                database.rollback()
            finally:
                database.close()
            _ensure_experiment(uri, experiment_name, artifact_location)
    except (OSError, sqlite3.Error) as error:
        raise TrackerUnavailable(
            f"the MLflow store {uri} cannot be written ({type(error).__name__}: {error}). If "
            f"another process holds it, wait for it or use another file; if the file is damaged, "
            f"move it away (a new one is made on first use) or set tracking_uri to another store."
        ) from error


def _ensure_experiment(uri: str, name: str, artifact_location: str | None) -> None:
    from mlflow.tracking import MlflowClient  # the extra, imported only where it is used

    client = MlflowClient(uri)  # its first use of a new file creates and migrates the tables
    if client.get_experiment_by_name(name) is None:
        client.create_experiment(name, artifact_location=artifact_location)


def _ensure_server_answers(uri: str) -> None:
    health = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(health, timeout=TIMEOUT_SECONDS):
            pass
    except (OSError, urllib.error.URLError) as error:
        raise TrackerUnavailable(
            f"the MLflow tracking server {uri} does not answer ({health}: {error}). Start it "
            f"(mlflow server --host 127.0.0.1 --port 5000), fix the address in tracking_uri, or "
            f"log to the local store (leave tracking_uri at its default)."
        ) from error
