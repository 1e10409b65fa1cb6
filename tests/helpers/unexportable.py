"""A network ONNX cannot express (complex arithmetic), for the export's refusal by name."""

import torch
from torch import Tensor, nn

from seqmnist.models import SequenceNet


class PhaseNet(SequenceNet):
    """Each step encoded as complex numbers, their mean magnitude over time classified."""

    size_settings = ("width",)

    def __init__(self, input_size: int, num_classes: int, width: int = 8) -> None:
        super().__init__(input_size, num_classes)
        self.encoder = nn.Linear(input_size, 2 * width)
        self.head = nn.Linear(width, num_classes)

    def forward(self, sequence: Tensor) -> Tensor:
        encoded = self.encoder(sequence).view(*sequence.shape[:2], -1, 2)
        return self.head(torch.view_as_complex(encoded.contiguous()).mean(dim=0).abs())
