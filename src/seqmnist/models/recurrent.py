"""A stacked recurrent network that reads a sequence and classifies it."""

import torch
from torch import Tensor, nn

from seqmnist.models.base import SequenceNet, running_mean
from seqmnist.validation import (
    BOOLEAN,
    CLASS_COUNT,
    FRACTION,
    POSITIVE_INTEGER,
    Predicate,
    ensure_valid,
    is_number,
    one_of,
)

CELLS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
READOUTS = ("last", "mean")


class RecurrentClassifier(SequenceNet):
    """A sequence-first `nn.LSTM`/`nn.GRU`/`nn.RNN` (tanh) stack plus a linear head.

    `readout` picks what the head sees: `last`, the output after the final step (for a
    bidirectional stack, the forward direction's last output and the backward direction's output
    after reading the whole sequence back to its first step); or `mean`, the outputs averaged over
    time. `dropout` follows the TF tutorial's `output_keep_prob`: it is applied to the output of
    every layer, the last one included (the cells' own `dropout` skips the last layer), and only
    while training. `forget_bias` (LSTM only) starts every forget gate at that bias, so memory
    is kept by default (Jozefowicz et al. 2015).
    """

    size_settings = ("hidden", "layers")

    def __init__(
        self,
        input_size: int = 28,
        hidden: int = 128,
        layers: int = 2,
        dropout: float = 0.0,
        num_classes: int = 10,
        cell: str = "lstm",
        bidirectional: bool = False,
        readout: str = "last",
        forget_bias: float | None = None,
    ) -> None:
        ensure_valid(
            "RecurrentClassifier",
            [
                ("input_size", input_size, *POSITIVE_INTEGER),
                ("hidden", hidden, *POSITIVE_INTEGER),
                ("layers", layers, *POSITIVE_INTEGER),
                ("dropout", dropout, *FRACTION),
                ("num_classes", num_classes, *CLASS_COUNT),
                ("cell", cell, *one_of(CELLS)),
                ("bidirectional", bidirectional, *BOOLEAN),
                ("readout", readout, *one_of(READOUTS)),
                ("forget_bias", forget_bias, *_forget_bias_rule(cell)),
            ],
        )
        super().__init__(input_size, num_classes)
        self.readout = readout
        self.bidirectional = bidirectional
        self.rnn = CELLS[cell](
            input_size,
            hidden,
            num_layers=layers,
            dropout=dropout if layers > 1 else 0.0,
            bidirectional=bidirectional,
        )
        if forget_bias is not None:
            self._set_forget_bias(forget_bias)
        self.output_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), num_classes)

    def _set_forget_bias(self, value: float) -> None:
        """PyTorch adds two biases per gate, in gate order (input, forget, cell, output)."""
        hidden = self.rnn.hidden_size
        forget_gate = slice(hidden, 2 * hidden)
        with torch.no_grad():
            for name, bias in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    bias[forget_gate] = value
                elif name.startswith("bias_hh"):
                    bias[forget_gate] = 0.0

    def forward(self, sequence: Tensor) -> Tensor:
        """Map `(time, batch, features)` to logits `(batch, num_classes)`."""
        outputs, _ = self.rnn(sequence)
        if self.readout == "mean":
            features = outputs.mean(dim=0)
        elif self.bidirectional:
            forward_last, backward_last = (
                outputs[-1].chunk(2, dim=-1)[0],
                outputs[0].chunk(2, dim=-1)[1],
            )
            features = torch.cat([forward_last, backward_last], dim=-1)
        else:
            features = outputs[-1]
        return self.head(self.output_dropout(features))

    def why_not_step_by_step(self) -> str | None:
        if self.bidirectional:
            return "a bidirectional network reads every step before answering"
        return None

    def logits_per_step(self, sequence: Tensor) -> Tensor:
        """How the answer forms: the head on the output after each step."""
        if not self.reads_step_by_step:
            raise ValueError(self.why_not_step_by_step())
        outputs, _ = self.rnn(sequence)
        if self.readout == "mean":
            outputs = running_mean(outputs)
        return self.head(self.output_dropout(outputs))

    def auto_precision_objection(self, precision: str, device_type: str) -> str | None:
        if device_type == "cpu" and precision.startswith("bf16") and isinstance(self.rnn, nn.GRU):
            return (
                "a GRU trained in bfloat16 under CPU autocast validated lower than in float32 "
                "(benchmarks/results/recipe_fast_99.md)"
            )
        return None

    def precision_refusal(self, precision: str, device_type: str) -> str | None:
        # torch's autocast wrapper for the cuDNN RNN kernel (_cudnn_rnn_cast_reflatten) casts the
        # weights to float16 whatever the autocast dtype is: bf16-mixed would train the RNN in fp16
        # without the loss scaling fp16 needs (pytorch/pytorch#42385)
        if device_type == "cuda" and precision == "bf16-mixed":
            return (
                f"autocast runs cuDNN's recurrent kernel ({type(self.rnn).__name__}) in float16 "
                f"whatever the autocast dtype, and bf16-mixed adds no loss scaling. Use "
                f"trainer.precision=16-mixed (float16 with loss scaling) or 32-true."
            )
        return None


def _forget_bias_rule(cell: str) -> tuple[Predicate, str]:
    """Only an LSTM has a forget gate to set."""
    if cell == "lstm":
        return (lambda v: v is None or is_number(v)), "a number or null"
    return (lambda v: v is None), f"null, because cell={cell!r} has no forget gate (or cell=lstm)"
