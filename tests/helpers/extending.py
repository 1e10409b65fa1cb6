"""The worked example of docs/extending.md: a network that is only its module (here) and its
YAML, and a dataset that is only its record (here) and its YAML (both YAMLs: tests/test_extending.py)."""

from typing import ClassVar

from torch import Tensor, nn
from torchvision.datasets import MNIST

from seqmnist.data.datasets import DatasetRecord, idx_files
from seqmnist.models import SequenceNet
from seqmnist.models.base import running_mean


class MeanPoolNet(SequenceNet):
    """Encode each step, average over time, classify: the smallest network that reads step by step."""

    size_settings = ("width",)

    def __init__(self, input_size: int, num_classes: int, width: int = 16) -> None:
        super().__init__(input_size, num_classes)
        self.encoder = nn.Sequential(nn.Linear(input_size, width), nn.Tanh())
        self.head = nn.Linear(width, num_classes)

    def forward(self, sequence: Tensor) -> Tensor:
        return self.head(self.encoder(sequence).mean(dim=0))

    def logits_per_step(self, sequence: Tensor) -> Tensor:
        return self.head(running_mean(self.encoder(sequence)))


class SyntheticDigits(MNIST):
    """torchvision's IDX reader, looking in `<data_dir>/SyntheticDigits/raw/`; no mirrors."""

    mirrors: ClassVar[list[str]] = []


SYNTHETIC_DIGITS = DatasetRecord(
    title="Synthetic digits",
    reader=SyntheticDigits,
    files=idx_files(240, 60),  # sizes only: checked without published MD5s
    train_size=240,
    test_size=60,
    class_names=tuple(str(digit) for digit in range(10)),
)
