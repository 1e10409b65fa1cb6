"""Training batches in a seeded order per epoch, which a restarted run continues exactly.

The order of epoch e depends on (seed, e) alone, and the loader records how far into it training
got (a DataLoader would restart an interrupted epoch from a fresh shuffle).
"""

import logging
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DistributedSampler

log = logging.getLogger(__name__)


def epoch_order(
    size: int, seed: int, rank: int = 0, world_size: int = 1
) -> DistributedSampler[int]:
    """Which samples one rank trains on in each epoch, and in which order: torch's sampler.

    Every rank draws the same permutation from (seed, epoch), drops the `size % world_size`
    samples at its end and takes every `world_size`-th position of the rest: shards are disjoint
    and equally long, so all ranks run the same number of steps, and each epoch leaves out
    different samples. Lightning calls `set_epoch` at the start of every epoch.
    """
    return DistributedSampler(
        range(size), num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=True
    )


class ResumableBatches:
    """`(images, labels)` batches sliced from whole tensors in `epoch_order`, one indexing per batch.

    Lightning treats this as the train dataloader: it finds `sampler.set_epoch`, applies
    `limit_train_batches`, and stores `state_dict()` in every checkpoint. The count of batches
    taken is advanced by whoever consumes them (`MNISTDataModule.on_after_batch_transfer`), not
    by this iterator, because Lightning fetches one batch ahead of the one it trains on.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        batch_size: int,
        order: DistributedSampler,
        reshuffle: bool = True,
    ) -> None:
        if len(images) != len(labels) or len(images) != len(order.dataset):
            raise ValueError(
                f"{len(images)} images, {len(labels)} labels and an order over "
                f"{len(order.dataset)} samples"
            )
        self.images = images
        self.labels = labels
        self.batch_size = batch_size
        self.sampler = order
        # False: every epoch repeats epoch 0's order (overfitting the same few batches)
        self.reshuffle = reshuffle
        self._epoch_in_progress = 0
        self._batches_taken = 0
        self._epoch_finished = False
        self._batches_to_skip = 0

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        epoch, skip = self.sampler.epoch, self._batches_to_skip
        self._epoch_in_progress, self._batches_taken, self._epoch_finished = epoch, skip, False
        self._batches_to_skip = 0
        indices = self._indices(epoch).to(self.images.device)
        for start in range(skip * self.batch_size, len(indices), self.batch_size):
            batch = indices[start : start + self.batch_size]
            yield self.images[batch], self.labels[batch]

    def _indices(self, epoch: int) -> Tensor:
        self.sampler.set_epoch(epoch if self.reshuffle else 0)
        indices = torch.tensor(list(self.sampler), dtype=torch.long)
        self.sampler.set_epoch(epoch)
        return indices

    def mark_taken(self, last_of_epoch: bool) -> None:
        """Count one batch as trained on; `last_of_epoch` where the epoch ends with it."""
        self._batches_taken += 1
        self._epoch_finished = last_of_epoch

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self._epoch_in_progress,
            "batches_taken": self._batches_taken,
            "epoch_finished": self._epoch_finished,
            **self._order_settings(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue where the checkpoint stopped: after its last batch, or at the next epoch."""
        if state["epoch_finished"]:
            self.sampler.set_epoch(state["epoch"] + 1)
            self._batches_to_skip = 0
            return
        self.sampler.set_epoch(state["epoch"])
        saved = {key: state[key] for key in self._order_settings()}
        if saved == self._order_settings():
            self._batches_to_skip = state["batches_taken"]
            return
        self._batches_to_skip = 0
        log.warning(
            "The checkpoint stopped %d batches into epoch %d with the training order %s; this run "
            "has %s, so it cannot continue that order and restarts the epoch from its first batch. "
            "Resume with the same seed, batch size and number of processes to continue exactly.",
            state["batches_taken"],
            state["epoch"],
            saved,
            self._order_settings(),
        )

    def _order_settings(self) -> dict[str, int]:
        return {
            "seed": self.sampler.seed,
            "samples": len(self.sampler.dataset),
            "batch_size": self.batch_size,
            "world_size": self.sampler.num_replicas,
        }
