"""A stacked LSTM that reads a sequence and classifies it from the last step's output."""

from torch import Tensor, nn


class RecurrentClassifier(nn.Module):
    """`nn.LSTM` (sequence-first) plus a linear head on the output of the last time step.

    `dropout` follows the TF tutorial's `output_keep_prob`: it is applied to the output of every
    layer, the last one included (nn.LSTM's own `dropout` skips the last layer), and only while
    training.
    """

    def __init__(
        self,
        input_size: int = 28,
        hidden: int = 128,
        layers: int = 2,
        dropout: float = 0.0,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.lstm = nn.LSTM(
            input_size, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0.0
        )
        self.output_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, sequence: Tensor) -> Tensor:
        """Map `(time, batch, features)` to logits `(batch, num_classes)`."""
        outputs, _ = self.lstm(sequence)
        return self.head(self.output_dropout(outputs[-1]))

    def logits_per_step(self, sequence: Tensor) -> Tensor:
        """Logits `(time, batch, num_classes)` as if reading stopped after each step: how the answer forms."""
        outputs, _ = self.lstm(sequence)
        return self.head(self.output_dropout(outputs))
