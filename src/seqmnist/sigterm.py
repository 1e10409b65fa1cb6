"""A SIGTERM is never lost: a run it ended is never reported as completed."""

import signal
import threading
from types import FrameType

from lightning.pytorch.utilities.exceptions import SIGTERMException


class SigtermWatch:
    """Remembers a SIGTERM for the whole run, so a run it ended is never reported as completed.

    Inside a Trainer, Lightning's handler sets a flag its loops check between batches (its
    evaluation loop ignores it at the last batch) and calls this one; outside, this stops at once.
    """

    def __init__(self) -> None:
        self.received = False

    def install(self) -> None:
        """Start watching (again) for this run; only the main thread may set signal handlers."""
        self.received = False
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.received = True
        if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            raise SIGTERMException()

    def stop_if_received(self) -> None:
        """Call after a Trainer stage: a SIGTERM Lightning let finish its stage still ends the run."""
        if self.received:
            raise SIGTERMException()


SIGTERM_WATCH = SigtermWatch()
