"""`hydra/launcher=local_parallel`: a sweep's jobs run n_jobs at a time in processes forked from it.

A forked worker starts with every module the sweep already imported, where joblib's fresh
interpreters import torch and Lightning again; forking is safe because the sweep process has run
no torch operation. Each job takes cores // n_jobs threads (seqmnist.machine.split_threads).
"""

import logging
import multiprocessing
import signal
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import NamedTuple

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)


class _Sweep(NamedTuple):
    """The sweep being launched, inherited by the forked workers instead of pickled to them."""

    launcher: "LocalParallelLauncher"
    overrides: list[list[str]]
    interrupted: EventType


_launching: _Sweep | None = None


class LocalParallelLauncher(Launcher):
    def __init__(self, n_jobs: int) -> None:
        if not isinstance(n_jobs, int) or n_jobs < 1:
            raise ValueError(
                f"hydra.launcher.n_jobs={n_jobs!r}: local_parallel runs a positive number of jobs "
                f"at once (default: one per core). Use hydra.launcher.n_jobs=2, for example."
            )
        if "fork" not in multiprocessing.get_all_start_methods():
            raise RuntimeError(
                "hydra/launcher=local_parallel forks its workers, which this platform cannot do "
                "(Windows). Use hydra/launcher=joblib with threads=<cores // jobs> instead."
            )
        self.n_jobs = n_jobs
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        global _launching
        assert self.config is not None, "Hydra calls setup() before launch()"
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        log.info(f"Launching {len(job_overrides)} jobs, {self.n_jobs} at a time (forked)")
        for index, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{index} : {' '.join(filter_overrides(overrides))}")

        fork = multiprocessing.get_context("fork")
        _launching = _Sweep(self, [list(overrides) for overrides in job_overrides], fork.Event())
        pool = ProcessPoolExecutor(
            max_workers=min(self.n_jobs, len(job_overrides)),
            mp_context=fork,
            initializer=signal.signal,
            initargs=(signal.SIGINT, signal.SIG_IGN),
        )
        try:
            numbers = range(initial_job_idx, initial_job_idx + len(job_overrides))
            return list(pool.map(_run_in_worker, range(len(job_overrides)), numbers))
        except BaseException:
            # the sweep ends early (Ctrl-C reaches every process: running jobs end as interrupted
            # runs): the queued jobs, one of which a worker may already hold, must not start
            _launching.interrupted.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            _launching = None


def _run_in_worker(position: int, number: int) -> JobReturn:
    """One job, in a forked worker; Ctrl-C interrupts it as it would a run of its own, while an
    idle worker ignores it (the sweep process then cancels the jobs not started)."""
    assert _launching is not None, "workers are forked from a launching sweep"
    launcher, overrides, interrupted = _launching
    if interrupted.is_set():
        raise KeyboardInterrupt(f"job #{number} not started: the sweep was interrupted")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        config = launcher.hydra_context.config_loader.load_sweep_config(
            launcher.config, overrides[position]
        )
        with open_dict(config):
            config.hydra.job.id = f"{config.hydra.job.name}_{number}"
            config.hydra.job.num = number
        HydraConfig.instance().set_config(config)
        return run_job(
            hydra_context=launcher.hydra_context,
            task_function=launcher.task_function,
            config=config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
