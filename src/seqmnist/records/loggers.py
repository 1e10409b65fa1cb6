"""Loggers that keep every metric of a run when fit and test happen in different processes."""

import csv
from typing import Any

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment


class ContinuingExperimentWriter(ExperimentWriter):
    """Lightning's CSV writer, made to extend an existing `metrics.csv` instead of breaking it.

    Under `ddp_spawn` the test's fresh worker processes never saw the fit's columns: Lightning's
    writer would then fail on them, or delete the file it was created on.
    """

    def _check_log_dir_exists(self) -> None:
        self._fs.makedirs(self.log_dir, exist_ok=True)

    def _rewrite_with_new_header(self, fieldnames: list[str]) -> None:
        with self._fs.open(self.metrics_file_path, "r", newline="") as file:
            existing = csv.DictReader(file).fieldnames or []
        self.metrics_keys[:] = sorted(set(existing) | set(fieldnames))
        super()._rewrite_with_new_header(self.metrics_keys)


class ContinuingCSVLogger(CSVLogger):
    """`lightning.pytorch.loggers.CSVLogger` writing through `ContinuingExperimentWriter`."""

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = ContinuingExperimentWriter(log_dir=self.log_dir)
        return self._experiment
