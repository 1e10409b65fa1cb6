"""`hydra/sweeper=optuna`: an Optuna study driven by ask-and-tell, each batch of trials launched as
jobs through the configured Hydra launcher.

Fills a gap: Hydra 1.3's own Optuna sweeper requires optuna<3, and its Optuna 4 release needs
Hydra 1.4. Same keys and search-space grammar as hydra-optuna-sweeper (`sampler`, `direction`,
`storage`, `study_name`, `n_trials`, `n_jobs`, `params` with choice / range / interval /
tag(log, ...)). `n_trials` counts the study's trials that ran to an outcome (completed, or failed
by their settings or anything else), not those an interruption stopped: several sweeps on one
storage share them, and re-running an interrupted search completes what it was asked for.
"""

import contextlib
import logging
import math
import sqlite3
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import TrialState

from seqmnist.errors import USER_ERROR_EXIT_CODE
from seqmnist.records.results import RESULT_FILE, read_result

log = logging.getLogger(__name__)

JOURNAL = "journal:"
DIRECTIONS = ("minimize", "maximize")
# trials that never reached an outcome, so n_trials does not count them (user attribute "error")
INTERRUPTED = "the search was interrupted before the job ended"
NOT_RUN = "beyond n_trials"


class OptunaSweeper(Sweeper):
    def __init__(
        self,
        sampler: Any,
        direction: str,
        storage: str | None,
        study_name: str | None,
        n_trials: int,
        n_jobs: int,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        problems = []
        if direction not in DIRECTIONS:
            problems.append(f"direction={direction!r}: minimize or maximize")
        for key, value in (("n_trials", n_trials), ("n_jobs", n_jobs)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{key}={value!r}: a positive integer")
        if problems:
            refuse(f"hydra.sweeper: {'; '.join(problems)}.")
        self.sampler = sampler
        self.direction = direction
        self.storage = storage
        self.study_name = study_name
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.params = dict(params or {})
        self.job_idx = 0

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> None:
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        space, fixed = search_space(
            [f"{key}={value}" for key, value in self.params.items()], arguments
        )
        ensure_model_is_searched([*self.params, *space], self.config.hydra.runtime.choices)
        study = self._study(space)
        log.info(
            f"Study {study.study_name} in {self.storage or 'memory'}: {self.direction} over "
            f"{', '.join(space) or 'nothing'}, {self.n_trials} trials, {self.n_jobs} at a time"
        )
        while trials := self._ask(study, space):
            batch = [[*fixed, *(f"{k}={v}" for k, v in t.params.items())] for t in trials]
            try:
                returns = self.launcher.launch(batch, initial_job_idx=self.job_idx)
            except BaseException:  # Ctrl-C, SIGTERM: the trials it stopped say so
                for trial in trials:
                    trial.set_user_attr("error", INTERRUPTED)
                    study.tell(trial, state=TrialState.FAIL)
                raise
            self.job_idx += len(returns)
            for trial, job in zip(trials, returns, strict=True):
                self._tell(study, trial, job)
        if any(t.state == TrialState.COMPLETE for t in study.trials):
            log.info(
                f"Best trial {study.best_trial.number}: {study.best_value} with {study.best_params}"
            )

    def _study(self, space: dict[str, BaseDistribution]) -> optuna.Study:
        # Hydra has built the sampler; a _partial_ one (grid) takes the search space
        sampler = self.sampler
        if not isinstance(sampler, optuna.samplers.BaseSampler):
            sampler = sampler(search_space=grid_of(space))
        try:
            # two sweeps starting on one new SQLite file would both create its tables
            with self._exclusive():
                return optuna.create_study(
                    study_name=self.study_name,
                    storage=open_storage(self.storage),
                    sampler=sampler,
                    direction=self.direction,
                    load_if_exists=True,
                )
        except RuntimeError as error:
            if "optuna storage upgrade" not in str(error):
                raise
            refuse(
                f"The study storage {self.storage} was written by an older Optuna, whose tables "
                f"Optuna {optuna.__version__} cannot read. Upgrade it in place (back it up "
                f"first): optuna storage upgrade --storage {self.storage} ; or start a new study "
                f"with another hydra.sweeper.study_name or hydra.sweeper.storage."
            )

    def _ask(self, study: optuna.Study, space: dict[str, BaseDistribution]) -> list:
        """The next batch: at most n_jobs trials, and never more than n_trials counted in the
        study, which other sweeps on the same storage may be adding to at the same time."""
        with self._exclusive():
            wanted = min(self.n_jobs, self.n_trials - counted_trials(study))
            trials = [study.ask(space) for _ in range(max(wanted, 0))]
        # a server database without our lock: another sweep may have asked at the same time
        excess = max(0, counted_trials(study) - self.n_trials)
        surplus = trials[len(trials) - excess :] if excess else []
        for trial in surplus:
            trial.set_user_attr("error", f"{NOT_RUN}={self.n_trials}: not run")
            study.tell(trial, state=TrialState.FAIL)
        return [trial for trial in trials if trial not in surplus]

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Held while counting and asking: a file lock beside a SQLite or journal file (it works
        on NFS too); a server database is shared without one."""
        path = storage_file(self.storage)
        if path is None:
            yield
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = JournalFileOpenLock(str(path) + ".sweep-lock")
        lock.acquire()
        try:
            yield
        finally:
            lock.release()

    def _tell(self, study: optuna.Study, trial: optuna.Trial, job: JobReturn) -> None:
        """A job that failed, or returned None, NaN or an infinity that is not the worst value
        of the direction, is a failed trial with its reason; the search goes on."""
        folder = str(job.hydra_cfg.hydra.runtime.output_dir) if job.hydra_cfg else ""
        trial.set_user_attr("job_folder", folder)
        value, error = None, None
        if job.status != JobStatus.COMPLETED:
            error = f"{type(job._return_value).__name__}: {job._return_value}"
        elif job.return_value is None:
            error = _recorded_error(folder) or "the job returned no value"
        else:
            value = float(job.return_value)
            worst = math.inf if self.direction == "minimize" else -math.inf
            if math.isnan(value) or (math.isinf(value) and value != worst):
                error, value = f"the job returned {value}", None
        if error is not None:
            log.warning(f"Trial {trial.number} failed: {error}")
            trial.set_user_attr("error", error)
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, value)


def counted_trials(study: optuna.Study) -> int:
    """Trials that count towards n_trials: every one but those an interruption stopped or that
    were never run. A trial that failed for its settings counts, so a broken setup cannot make a
    search ask for trials forever."""
    return sum(
        not str(trial.user_attrs.get("error", "")).startswith((INTERRUPTED, NOT_RUN))
        for trial in study.get_trials(deepcopy=False)
    )


def search_space(
    params: Sequence[str], arguments: Sequence[str]
) -> tuple[dict[str, BaseDistribution], list[str]]:
    """Optuna distributions of the sweep overrides (config `params`, then the command line, which
    wins), and the other overrides, passed to every job as they are."""
    parser = OverridesParser.create()
    space: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for override in [
        *parser.parse_overrides(list(params)),
        *parser.parse_overrides(list(arguments)),
    ]:
        key = override.get_key_element()
        space.pop(key, None)
        fixed.pop(key, None)
        if override.is_sweep_override():
            space[key] = distribution(override)
        else:
            fixed[key] = override.input_line or f"{key}={override.get_value_element_as_str()}"
    return space, list(fixed.values())


def ensure_model_is_searched(keys: Sequence[str], choices: Mapping[str, Any]) -> None:
    """A named search (`hparams_search=<search>`) of a model with no space file of its own would
    vary only the optimizer: refuse before any trial, naming the file to create. `keys`: the
    searched keys of the config and the command line (model keys fixed there are a choice)."""
    search, model = choices.get("hparams_search"), choices.get("model")
    if search is None or any(key.startswith("model.") for key in keys):
        return
    refuse(
        f"hparams_search={search} varies no setting of model={model}: the search space of each "
        f"model is its own file. Create configs/hparams_search/space/{search}_{model}.yaml "
        f"(`# @package hydra.sweeper.params`, then lines such as `model.<size setting>: "
        f"choice(...)`), or name the model settings to search on the command line "
        f"(model.<key>=choice(...))."
    )


def distribution(override: Override) -> BaseDistribution:
    sweep = override.value()
    log_scale = "log" in sweep.tags
    if isinstance(sweep, ChoiceSweep):
        return CategoricalDistribution(list(sweep.list))
    if isinstance(sweep, RangeSweep):
        values = list(override.sweep_iterator())
        if all(isinstance(value, int) for value in values):
            return IntDistribution(values[0], values[-1], step=int(sweep.step), log=log_scale)
        return CategoricalDistribution(values)
    try:
        if isinstance(sweep, IntervalSweep):
            if "int" in sweep.tags:
                return IntDistribution(int(sweep.start), int(sweep.end), log=log_scale)
            return FloatDistribution(sweep.start, sweep.end, log=log_scale)
    except ValueError as error:  # Optuna's own check of the bounds
        refuse(
            f"{override.input_line or override.get_key_element()} is not a search range "
            f"({str(error).rstrip('.')}). Give interval(low, high) with low <= high (and low > 0 under "
            f"tag(log, ...)); no trial was started."
        )
    refuse(
        f"{override.input_line}: the Optuna sweeper takes choice(...), range(...), "
        f"interval(...) and tag(log, ...) of them"
    )


def grid_of(space: Mapping[str, BaseDistribution]) -> dict[str, list]:
    """The grid sampler's search space: every value of each choice or integer range."""
    grid = {}
    for name, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            grid[name] = list(dist.choices)
        elif isinstance(dist, IntDistribution) and not dist.log:
            grid[name] = list(range(dist.low, dist.high + 1, dist.step))
        else:
            refuse(f"{name}: the grid sampler needs choice(...) or range(...), not an interval")
    return grid


def open_storage(storage: str | None) -> Any:
    """None (in memory), an SQLAlchemy URL (sqlite:///..., postgresql://...), or
    `journal:<path>`: Optuna's journal file, the storage for a shared file system."""
    if storage is None:
        return None
    if storage.startswith(JOURNAL):
        path = storage_file(storage)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = JournalFileOpenLock(str(path) + ".lock")
        return JournalStorage(JournalFileBackend(str(path), lock_obj=lock))
    path = storage_file(storage)
    if path is not None and path.is_file():
        _ensure_sqlite_database(path, storage)
    return RDBStorage(storage)


def _ensure_sqlite_database(path: Path, storage: str) -> None:
    """A study file that is not an SQLite database (damaged, or another file at its path) would
    reach the user as a raw SQLAlchemy traceback: refuse it before any trial, leaving it as it is."""
    try:
        database = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            database.execute("PRAGMA schema_version").fetchone()
        finally:
            database.close()
    except sqlite3.Error as error:
        refuse(
            f"The study storage {storage} is not a readable SQLite database ({error}). Move the "
            f"file away (the search then starts a new study there) or point "
            f"hydra.sweeper.storage elsewhere; the file was left as it is and no trial was started."
        )


def storage_file(storage: str | None) -> Path | None:
    """The file of a SQLite or journal storage; None for memory and database servers."""
    if storage is None:
        return None
    if storage.startswith(JOURNAL):
        return Path(storage.removeprefix(JOURNAL))
    if storage.startswith("sqlite:///"):
        return Path(storage.removeprefix("sqlite:///"))
    return None


def refuse(problem: str) -> None:
    """A setting of the sweep that cannot work: one paragraph, exit code 2 (not a traceback
    through Hydra, which reports a sweeper's exceptions with one)."""
    print(f"error: {problem}", file=sys.stderr)
    raise SystemExit(USER_ERROR_EXIT_CODE)


def _recorded_error(folder: str) -> str | None:
    """The error the job's result.json recorded (seqmnist's jobs write one)."""
    try:
        return read_result(Path(folder) / RESULT_FILE).error
    except (OSError, ValueError, TypeError):  # no result.json, or not one of ours
        return None
