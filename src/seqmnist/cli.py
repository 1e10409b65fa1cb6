"""Shared by the entry points: user errors become one paragraph and a non-zero exit."""

import logging
import signal
import sys
from collections.abc import Callable
from typing import TypeVar

from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from seqmnist.errors import SeqmnistError

log = logging.getLogger(__name__)
Result = TypeVar("Result")

USER_ERROR_EXIT_CODE = 2
# the shell's convention for "ended by SIGTERM", so schedulers and scripts see a failed run
TERMINATED_EXIT_CODE = 128 + signal.SIGTERM


def exit_on_user_error(task: Callable[[DictConfig], Result], cfg: DictConfig) -> Result:
    """Run `task`; a SeqmnistError (bad config, data, checkpoint) prints its fix instead of a traceback."""
    try:
        return task(cfg)
    except SeqmnistError as error:
        log.error("%s", error)
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(USER_ERROR_EXIT_CODE) from None
    except SIGTERMException:
        raise SystemExit(TERMINATED_EXIT_CODE) from None
