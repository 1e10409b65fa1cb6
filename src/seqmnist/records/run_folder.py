"""A run folder holds one run: a second run there would overwrite the first one's records."""

import logging
import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from seqmnist.errors import USER_ERROR_EXIT_CODE

log = logging.getLogger(__name__)


class RefuseUsedRunFolder(Callback):
    """Hydra callback: stop before a run starts in a folder that already holds one.

    A second run would overwrite its config and mix their events and checkpoints. Plain-DDP
    workers (LOCAL_RANK >= 1), started in their launcher's folder, are let through.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if os.environ.get("LOCAL_RANK", "0") != "0":
            return
        run_dir = Path(config.hydra.run.dir)
        earlier = [run_dir / name for name in (".hydra", "checkpoints", "result.json")]
        found = [str(path) for path in earlier if path.exists()]
        if found:
            message = (
                f"hydra.run.dir={run_dir} already holds a run ({', '.join(found)}). A second run "
                f"there would overwrite its config and mix the two runs' checkpoints and TensorBoard "
                f"events. Leave hydra.run.dir at its default (a new folder per run) or choose an "
                f"unused folder; to continue that run, pass ckpt_path={run_dir}/checkpoints/last.ckpt "
                f"from a new folder."
            )
            print(f"error: {message}", file=sys.stderr)
            raise SystemExit(USER_ERROR_EXIT_CODE)
