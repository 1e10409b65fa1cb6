"""The parallel Legendre Memory Unit (Voelker, Kajić, Eliasmith 2019; Chilkuri, Eliasmith 2021).

A fixed linear time-invariant memory projects the encoded input's history over a window of
`theta` steps onto `order` Legendre polynomials. Being linear and fixed, its state after step t is
a convolution of the encoded inputs with its impulse response Ā^k B̄: the whole sequence is one
matrix product (the final state) or one FFT convolution (every state), while `logits_per_step`
runs the recurrence m_t = Ā m_(t-1) + B̄ u_t itself. tests/test_lmu.py shows the two agree.
"""

import logging
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqmnist.models.base import SequenceNet, running_mean
from seqmnist.validation import (
    CLASS_COUNT,
    FRACTION,
    POSITIVE_INTEGER,
    POSITIVE_NUMBER,
    InvalidArguments,
    ensure_valid,
    is_int,
    one_of,
)

log = logging.getLogger(__name__)

READOUTS = ("last", "mean")
MAX_ORDER = 4096


def legendre_memory(order: int, theta: float) -> tuple[Tensor, Tensor]:
    """Ā `(order, order)` and B̄ `(order,)` in float64: the continuous Legendre system
    theta m' = A m + B u, discretised by zero-order hold over one step."""
    q = torch.arange(order, dtype=torch.float64)
    rows, cols = q.view(-1, 1), q.view(1, -1)
    signs = torch.where(rows < cols, -1.0, (-1.0) ** (rows - cols + 1))
    a = signs * (2 * rows + 1) / theta
    b = (-1.0) ** q * (2 * q + 1) / theta
    a_bar = torch.linalg.matrix_exp(a)
    # B̄ = A^-1 (Ā - I) B: the input held constant over the step
    b_bar = torch.linalg.solve(a, (a_bar - torch.eye(order, dtype=torch.float64)) @ b)
    return a_bar, b_bar


def impulse_response(a_bar: Tensor, b_bar: Tensor, length: int) -> Tensor:
    """H[k] = Ā^k B̄ for k < length: `(length, order)`, the state k steps after a unit input."""
    response = [b_bar]
    for _ in range(length - 1):
        response.append(a_bar @ response[-1])
    return torch.stack(response)


class LMUClassifier(SequenceNet):
    """Encoder (each step's features to `memory_inputs` scalars), the Legendre memory of each,
    a ReLU layer of `hidden` units on [memory; the step's input], dropout, and a linear head.

    `readout`: `last` reads the memory after the final step (one matrix product with the
    precomputed impulse response), `mean` averages the hidden layer over every step (every state,
    by an FFT convolution). The memory's matrices are buffers: fixed, not trained.
    """

    size_settings = ("order", "hidden", "memory_inputs")

    def __init__(
        self,
        input_size: int = 1,
        order: int = 256,
        theta: float = 784.0,
        hidden: int = 256,
        memory_inputs: int = 1,
        dropout: float = 0.0,
        readout: str = "last",
        num_classes: int = 10,
    ) -> None:
        ensure_valid(
            "LMUClassifier",
            [
                ("input_size", input_size, *POSITIVE_INTEGER),
                ("order", order, lambda v: is_int(v) and 0 < v <= MAX_ORDER,
                 f"an integer from 1 to {MAX_ORDER} (the memory's matrices are dense order x "
                 f"order, built in float64)"),
                ("theta", theta, *POSITIVE_NUMBER),
                ("hidden", hidden, *POSITIVE_INTEGER),
                ("memory_inputs", memory_inputs, *POSITIVE_INTEGER),
                ("dropout", dropout, *FRACTION),
                ("readout", readout, *one_of(READOUTS)),
                ("num_classes", num_classes, *CLASS_COUNT),
            ],
        )  # fmt: skip
        super().__init__(input_size, num_classes)
        self.theta = float(theta)
        self.readout = readout
        self.encoder = nn.Linear(input_size, memory_inputs)
        self.hidden = nn.Linear(memory_inputs * order + input_size, hidden)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, num_classes)
        with torch.device("cpu"):  # float64 linear algebra, even when built on the meta device
            a_bar, b_bar = legendre_memory(order, float(theta))
        _ensure_stable(a_bar, b_bar, order, theta)
        self.register_buffer("a_bar", a_bar.float(), persistent=False)
        self.register_buffer("b_bar", b_bar.float(), persistent=False)
        self._a_bar64, self._b_bar64 = a_bar, b_bar
        self._responses: dict[tuple[int, torch.device], Tensor] = {}
        self._warned_length: int | None = None

    # the memory

    def response(self, length: int, device: torch.device) -> Tensor:
        """H `(length, order)` in float32 on `device`, computed once per length in float64."""
        key = (length, device)
        if key not in self._responses:
            self._warn_if_window_is_short(length)
            response = impulse_response(self._a_bar64, self._b_bar64, length)
            self._responses[key] = response.to(device=device, dtype=torch.float32)
        return self._responses[key]

    def final_memory(self, u: Tensor) -> Tensor:
        """`(time, batch, memory_inputs)` -> the state after the last step, `(batch, inputs * order)`:
        m_T = sum_j H[T-1-j] u_j, one product with the reversed impulse response."""
        kernel = self.response(len(u), u.device).flip(0)
        return torch.einsum("tbc,to->bco", u, kernel).flatten(1)

    def all_memories(self, u: Tensor) -> Tensor:
        """Every state, `(time, batch, inputs * order)`: the causal convolution of u with H, by FFT."""
        length = len(u)
        response = self.response(length, u.device)
        size = 2 * length
        spectrum = torch.fft.rfft(u, n=size, dim=0).unsqueeze(-1) * torch.fft.rfft(
            response, n=size, dim=0
        ).view(-1, 1, 1, response.shape[-1])
        states = torch.fft.irfft(spectrum, n=size, dim=0)[:length]
        return states.flatten(2)

    def recurrent_memories(self, u: Tensor) -> Tensor:
        """The same states step by step: m_t = Ā m_(t-1) + B̄ u_t."""
        state = u.new_zeros(u.shape[1], u.shape[2], len(self.b_bar))
        states = []
        for u_t in u.unbind(0):
            state = state @ self.a_bar.T + u_t.unsqueeze(-1) * self.b_bar
            states.append(state.flatten(1))
        return torch.stack(states)

    # the network

    def _encode(self, sequence: Tensor) -> Tensor:
        # the memory stays in float32 under autocast: an FFT and long sums of small terms
        return self.encoder(sequence).float()

    def _classify(self, memory: Tensor, step_input: Tensor) -> Tensor:
        """Hidden features of [memory; input] at one or every step."""
        features = torch.cat([memory, step_input.to(memory.dtype)], dim=-1)
        return self.dropout(F.relu(self.hidden(features)))

    def forward(self, sequence: Tensor) -> Tensor:
        """Map `(time, batch, features)` to logits `(batch, num_classes)`."""
        last = self.readout == "last"
        with torch.autocast(sequence.device.type, enabled=False):
            u = self._encode(sequence.float())
            memory = self.final_memory(u) if last else self.all_memories(u)
        if last:
            return self.head(self._classify(memory, sequence[-1]))
        return self.head(self._classify(memory, sequence).mean(dim=0))

    def logits_per_step(self, sequence: Tensor) -> Tensor:
        """Logits `(time, batch, num_classes)` as if reading stopped after each step, by the
        recurrence."""
        with torch.autocast(sequence.device.type, enabled=False):
            memory = self.recurrent_memories(self._encode(sequence.float()))
        hidden = self._classify(memory, sequence)
        return self.head(running_mean(hidden) if self.readout == "mean" else hidden)

    def _warn_if_window_is_short(self, length: int) -> None:
        if length > self.theta and self._warned_length != length:
            self._warned_length = length
            log.warning(
                "model.theta=%g is shorter than the sequence (%d steps): the memory holds about "
                "the last %g steps, and what came before fades from it. Set model.theta to the "
                "sequence length (784 for pixels, 28 for rows) to remember the whole image.",
                self.theta,
                length,
                self.theta,
            )


def _ensure_stable(a_bar: Tensor, b_bar: Tensor, order: int, theta: float) -> None:
    """A memory whose matrices overflow or whose state grows without bound cannot train."""
    radius = float(torch.linalg.eigvals(a_bar).abs().max())
    if not (math.isfinite(radius) and radius < 1 + 1e-9 and torch.isfinite(b_bar).all()):
        raise InvalidArguments(
            "LMUClassifier",
            {
                "order": (
                    order,
                    f"an order whose discretised memory is stable at theta={theta} (spectral "
                    f"radius {radius:.3g}; lower the order or raise theta)",
                )
            },
        )
