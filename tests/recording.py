"""Callbacks that record what a run did, for tests that check it from outside the process."""

import hashlib
from pathlib import Path

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
