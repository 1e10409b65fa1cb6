"""Callbacks that record what a run did, for tests that check it from outside the process."""

import hashlib
from pathlib import Path

import torch
from lightning.pytorch import Callback, LightningModule, Trainer


class RecordTrainingSamples(Callback):
    """Appends `<epoch> <fingerprint>` for every training sample to `<folder>/rank<r>.txt`.

    A fingerprint is a hash of the sample's sequence, so the ranks of a DDP run can be compared.
    """

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: tuple, batch_idx: int
    ) -> None:
        sequence, _ = batch
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / f"rank{trainer.global_rank}.txt").open("a") as record:
            for sample in range(sequence.shape[1]):
                pixels = sequence[:, sample].detach().cpu().contiguous().numpy().tobytes()
                record.write(f"{trainer.current_epoch} {hashlib.sha1(pixels).hexdigest()}\n")


class RecordValidationSteps(Callback):
    """Appends the global step of every validation (not the sanity check) to the file `steps`."""

    def __init__(self, steps: str) -> None:
        self.steps = Path(steps)

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.sanity_checking:
            with self.steps.open("a") as record:
                record.write(f"{trainer.global_step}\n")


def samples_per_epoch(folder: Path, rank: int = 0) -> dict[str, list[str]]:
    """What `RecordTrainingSamples` wrote for `rank`: epoch -> fingerprints in training order."""
    per_epoch: dict[str, list[str]] = {}
    for line in (folder / f"rank{rank}.txt").read_text().splitlines():
        epoch, fingerprint = line.split()
        per_epoch.setdefault(epoch, []).append(fingerprint)
    return per_epoch


class RecordRandomState(Callback):
    """Gives every rank its own random stream, then writes `<event> <hash of torch's CPU state>`
    lines to `<folder>/rank<r>.txt`: `saved` whenever a checkpoint is made, `resumed` at the first
    training batch after a restore, so a test can check each rank continued its own stream."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.restored = False

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.restored = trainer.global_step > 0
        if not self.restored:
            torch.rand(trainer.global_rank + 1)  # rank r draws r + 1 numbers: the streams differ

    def on_save_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint) -> None:
        self._write(trainer, "saved")

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, *_: object
    ) -> None:
        if self.restored:
            self._write(trainer, "resumed")
            self.restored = False

    def _write(self, trainer: Trainer, event: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        state = hashlib.sha1(torch.get_rng_state().numpy().tobytes()).hexdigest()
        with (self.folder / f"rank{trainer.global_rank}.txt").open("a") as record:
            record.write(f"{event} {state}\n")
