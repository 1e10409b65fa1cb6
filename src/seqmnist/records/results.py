"""One result file per run folder, so a sweep can be summarised from its folders alone."""

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULT_FILE = "result.json"
COMPLETED = "completed"
FAILED = "failed"


@dataclass(frozen=True)
class RunResult:
    status: str
    overrides: list[str]
    wall_time_s: float
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    # what the numbers depend on besides the config: torch's thread count and the device
    threads: int | None = None
    device: str | None = None
    # a failure caused by the run's own settings (errors.SettingsFailure), not by its surroundings
    failed_for_settings: bool = False
    # the precision the run computed in, and what else its numbers depend on: the library versions
    # and the hardware (CPU model and instruction sets, GPU and CUDA)
    precision: str | None = None
    precision_choice: str | None = None  # why: trainer.precision=auto's reason
    stack: dict[str, str] | None = None
    hardware: dict[str, object] | None = None
    # the composed `seed` (None: unseeded), whether or not the command line set it
    seed: int | None = None


def write_result(output_dir: Path, result: RunResult) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    partial = output_dir / f"{RESULT_FILE}.{os.getpid()}.partial"
    try:
        partial.write_text(json.dumps(asdict(result), indent=2))
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, output_dir / RESULT_FILE)


def read_result(path: Path) -> RunResult:
    return RunResult(**json.loads(path.read_text()))
