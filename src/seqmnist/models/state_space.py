"""A diagonal state-space network (S4D: Gu, Gupta, Goel, Ré, NeurIPS 2022) that classifies sequences.

Each layer is a linear time-invariant recurrence, so over a whole sequence it is a causal
convolution. Training computes it in chunks by matrix products, with the layer's own state carried
from chunk to chunk (no FFT), with complex numbers as (real, imaginary) pairs so the network
exports to ONNX; `logits_per_step` runs the recurrence itself, step by step. The two compute the
same function (tests/test_state_space.py).
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqmnist.models.base import SequenceNet, running_mean
from seqmnist.validation import (
    BOOLEAN,
    CLASS_COUNT,
    FRACTION,
    NON_NEGATIVE_NUMBER,
    POSITIVE_INTEGER,
    POSITIVE_NUMBER,
    ensure_valid,
    is_int,
    is_number,
    one_of,
)

INITS = ("lin", "inv")
READOUTS = ("mean", "last")
MIXINGS = ("glu", "linear")


class S4DKernel(nn.Module):
    """The diagonal state space of `channels` independent channels, `d_state // 2` complex modes each
    (conjugate pairs make a real output), discretised by zero-order hold with a learned step size.

    `ssm_parameters` are the ones the S4 papers train at their own learning rate, without weight
    decay: the log step size and both parts of A. C is trained like any other weight.
    """

    def __init__(
        self, channels: int, d_state: int, dt_min: float, dt_max: float, init: str
    ) -> None:
        super().__init__()
        modes = d_state // 2
        log_dt = torch.rand(channels) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        n = torch.arange(modes, dtype=torch.float32)
        # S4D-Lin: imaginary parts pi * n; S4D-Inv: close to S4's HiPPO-LegS spectrum
        lin = math.pi * n
        imag = lin if init == "lin" else (d_state / math.pi) * (d_state / (2 * n + 1) - 1)
        self.log_dt = nn.Parameter(log_dt)
        self.log_neg_a_real = nn.Parameter(torch.full((channels, modes), math.log(0.5)))
        self.a_imag = nn.Parameter(imag.repeat(channels, 1))
        # complex C stored as (real, imag) pairs, so the module moves and casts like any other
        self.c = nn.Parameter(torch.randn(channels, modes, 2) * math.sqrt(0.5))

    @property
    def ssm_parameters(self) -> list[nn.Parameter]:
        return [self.log_dt, self.log_neg_a_real, self.a_imag]

    def discrete(self) -> tuple[Tensor, Tensor, Tensor]:
        """`dt * A`, B-bar and C, each `(channels, modes, 2)`: complex numbers as (real, imag)
        pairs, in float32 or wider. Real pairs rather than complex tensors, so the network exports
        to ONNX, which has no complex arithmetic."""
        real = _at_least_float32(self.c.dtype)
        a = torch.stack([-torch.exp(self.log_neg_a_real.to(real)), self.a_imag.to(real)], dim=-1)
        dt_a = a * torch.exp(self.log_dt.to(real)).view(-1, 1, 1)
        # zero-order hold with B = 1 (S4D folds B into C): B-bar = (exp(dt A) - 1) / A
        x, y = dt_a.unbind(-1)
        # exp(x) - 1 as 2 tanh(x/2) / (1 - tanh(x/2)): exact for small x, and ONNX has no expm1
        half = torch.tanh(x / 2)
        exp_minus_one = torch.stack(
            [
                2 * half / (1 - half) * torch.cos(y) - 2 * torch.sin(y / 2) ** 2,
                torch.exp(x) * torch.sin(y),
            ],
            dim=-1,
        )
        b_bar = _complex_divide(exp_minus_one, a)
        return dt_a, b_bar, self.c.to(real)


class S4DLayer(nn.Module):
    """One S4D layer on `(batch, time, channels)`: y = K * u + D u, then GELU, tied dropout and a
    position-wise mixing (`glu`: a linear map to twice the channels and a GLU; or `linear`), as in
    the S4 code's example model (whose blocks drop out a second time, after the mixing)."""

    def __init__(
        self,
        d_model: int,
        d_state: int,
        dropout: float,
        dt_min: float,
        dt_max: float,
        init: str,
        chunk: int,
        mixing: str,
    ) -> None:
        super().__init__()
        self.kernel = S4DKernel(d_model, d_state, dt_min, dt_max, init)
        self.d = nn.Parameter(torch.randn(d_model))
        self.dropout = TiedDropout(dropout)
        self.glu = mixing == "glu"
        self.mix = nn.Linear(d_model, (2 if self.glu else 1) * d_model)
        self.chunk = chunk

    def forward(self, u: Tensor, step_by_step: bool = False) -> Tensor:
        # the kernel's powers and the state stay in float32 (or wider) under any autocast
        with torch.autocast(u.device.type, enabled=False):
            y = (self.recur if step_by_step else self.convolve)(u.to(_at_least_float32(u.dtype)))
        mixed = self.mix(self.dropout(F.gelu(y.to(u.dtype))))
        return F.glu(mixed, dim=-1) if self.glu else mixed

    def convolve(self, u: Tensor) -> Tensor:
        """The whole sequence at once. Within a chunk of `c` steps the convolution is a `c x c`
        Toeplitz product; what earlier chunks left in the state enters through that state, which
        the recurrence carries one chunk at a time. Every product is a real batched matmul."""
        batch, length, channels = u.shape
        c = min(self.chunk, length)
        chunks = -(-length // c)
        dt_a, b_bar, c_out = self.kernel.discrete()
        modes = dt_a.shape[1]
        steps = torch.arange(c + 1, device=u.device, dtype=dt_a.dtype)
        powers = _complex_exp(dt_a.unsqueeze(2) * steps.view(-1, 1))  # A-bar^l, (H, N, c + 1, 2)
        # K_l = 2 Re(C B-bar A-bar^l), l < c, laid out as the Toeplitz matrix T[t, j] = K_{t-j}
        k = 2 * _complex_multiply(_complex_multiply(c_out, b_bar).unsqueeze(2), powers[:, :, :c])
        k = k[..., 0].sum(1)  # (H, c)
        lag = torch.arange(c, device=u.device)
        lag = lag.view(1, -1) - lag.view(-1, 1)  # t - j: rows j (input), columns t (output)
        toeplitz = k[:, lag.clamp(min=0)] * (lag >= 0)  # (H, c_j, c_t)
        skip = self.d.to(k.dtype).view(-1, 1, 1)  # D u on the diagonal
        toeplitz = toeplitz + torch.eye(c, dtype=k.dtype, device=u.device) * skip
        # a chunk's input j reaches the state at its end through A-bar^(c-1-j) B-bar
        into_state = _complex_multiply(powers[:, :, :c].flip(2), b_bar.unsqueeze(2))
        into_state = into_state.permute(0, 2, 1, 3).reshape(channels, c, 2 * modes)
        # the state before a chunk reaches its output t through 2 Re(C A-bar^(t+1) x)
        out_of_state = _complex_multiply(c_out.unsqueeze(2), powers[:, :, 1:])  # (H, N, c, 2)
        out_of_state = 2 * torch.stack([out_of_state[..., 0], -out_of_state[..., 1]], dim=2)
        out_of_state = out_of_state.reshape(channels, 2 * modes, c)

        padded = F.pad(u, (0, 0, 0, chunks * c - length)) if length % c else u
        # channel-major and contiguous: bmm copies each channel's matrix of a strided view
        blocks = padded.view(batch, chunks, c, channels).permute(3, 0, 1, 2)
        blocks = blocks.reshape(channels, batch * chunks, c).contiguous()
        fed = torch.bmm(blocks, into_state).view(channels, batch, chunks, modes, 2)
        carry = powers[:, :, c].unsqueeze(1)  # A-bar^c, (H, 1, N, 2)
        fed_chunks = fed.unbind(2)  # one backward for all (indexing would make one per chunk)
        state = torch.zeros_like(fed_chunks[0])
        before = [state]
        for fed_chunk in fed_chunks[:-1]:
            state = _complex_multiply(carry, state) + fed_chunk
            before.append(state)
        states = torch.stack(before, dim=2).reshape(channels, batch * chunks, 2 * modes)
        # two products and a sum: baddbmm's backward loops over the channels on CPU
        y = torch.bmm(blocks, toeplitz).add_(torch.bmm(states, out_of_state))
        y = y.view(channels, batch, chunks * c).permute(1, 2, 0)[:, :length]
        return y

    def recur(self, u: Tensor) -> Tensor:
        """Step by step: x_k = A-bar x_(k-1) + B-bar u_k, y_k = 2 Re(C x_k) + D u_k."""
        dt_a, b_bar, c_out = (torch.view_as_complex(x.contiguous()) for x in self.kernel.discrete())
        a_bar = torch.exp(dt_a)
        state = torch.zeros(u.shape[0], *a_bar.shape, dtype=a_bar.dtype, device=u.device)
        outputs = []
        for u_k in u.unbind(1):
            state = a_bar * state + b_bar * u_k.unsqueeze(-1)
            outputs.append(2 * (state * c_out).sum(-1).real)
        return torch.stack(outputs, dim=1) + u * self.d


def _complex_multiply(x: Tensor, y: Tensor) -> Tensor:
    """Complex numbers as (real, imag) pairs in the last dimension, multiplied."""
    (a, b), (c, d) = x.unbind(-1), y.unbind(-1)
    return torch.stack([a * c - b * d, a * d + b * c], dim=-1)


def _complex_divide(x: Tensor, y: Tensor) -> Tensor:
    (a, b), (c, d) = x.unbind(-1), y.unbind(-1)
    norm = c * c + d * d
    return torch.stack([(a * c + b * d) / norm, (b * c - a * d) / norm], dim=-1)


def _complex_exp(z: Tensor) -> Tensor:
    magnitude = torch.exp(z[..., 0])
    return torch.stack([magnitude * torch.cos(z[..., 1]), magnitude * torch.sin(z[..., 1])], dim=-1)


def _at_least_float32(dtype: torch.dtype) -> torch.dtype:
    return torch.promote_types(dtype, torch.float32)


class TiedDropout(nn.Module):
    """Dropout of whole channels, one mask per sequence (the S4 code's DropoutNd): long sequences
    keep their features consistent over time, and one mask per sequence is cheap to draw."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        mask = torch.empty_like(x[:, :1]).bernoulli_(1 - self.p).div_(1 - self.p)
        return x * mask


class S4DClassifier(SequenceNet):
    """Linear encoder, `layers` residual S4D blocks (LayerNorm after each, or before with
    `prenorm`) and a linear head.

    `readout` picks what the head sees: `mean`, the outputs averaged over time, or `last`, the
    output after the final step. `chunk` is the block length of the training computation (a
    speed setting; the function is the same for every value).
    """

    size_settings = ("d_model", "d_state", "layers")

    def __init__(
        self,
        input_size: int = 1,
        d_model: int = 128,
        d_state: int = 64,
        layers: int = 4,
        dropout: float = 0.1,
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        init: str = "lin",
        mixing: str = "glu",
        readout: str = "mean",
        prenorm: bool = False,
        num_classes: int = 10,
        chunk: int = 56,
        ssm_lr: float = 0.001,
        ssm_weight_decay: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        ensure_valid(
            "S4DClassifier",
            [
                ("input_size", input_size, *POSITIVE_INTEGER),
                ("d_model", d_model, *POSITIVE_INTEGER),
                ("d_state", d_state, lambda v: is_int(v) and v >= 2 and v % 2 == 0,
                 "an even integer of at least 2 (conjugate pairs of complex modes)"),
                ("layers", layers, *POSITIVE_INTEGER),
                ("dropout", dropout, *FRACTION),
                ("dt_min", dt_min, *POSITIVE_NUMBER),
                ("dt_max", dt_max, lambda v: is_number(v) and is_number(dt_min) and v >= dt_min > 0,
                 "a number of at least dt_min"),
                ("init", init, *one_of(INITS)),
                ("mixing", mixing, *one_of(MIXINGS)),
                ("readout", readout, *one_of(READOUTS)),
                ("prenorm", prenorm, *BOOLEAN),
                ("num_classes", num_classes, *CLASS_COUNT),
                ("chunk", chunk, *POSITIVE_INTEGER),
                ("ssm_lr", ssm_lr, *POSITIVE_NUMBER),
                ("ssm_weight_decay", ssm_weight_decay, *NON_NEGATIVE_NUMBER),
                ("bidirectional", bidirectional, lambda v: v is False,
                 "false: this S4D reads causally, one direction (use model=recurrent for a "
                 "bidirectional network)"),
            ],
        )  # fmt: skip
        super().__init__(input_size, num_classes)
        self.readout = readout
        self.prenorm = prenorm
        self.ssm_lr = ssm_lr
        self.ssm_weight_decay = ssm_weight_decay
        self.encoder = nn.Linear(input_size, d_model)
        self.blocks = nn.ModuleList(
            S4DLayer(d_model, d_state, dropout, dt_min, dt_max, init, chunk, mixing)
            for _ in range(layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(layers))
        self.head = nn.Linear(d_model, num_classes)

    def optimizer_groups(self) -> list[dict]:
        """Parameters that need their own optimizer settings; the rest take the optimizer's."""
        ssm = [p for block in self.blocks for p in block.kernel.ssm_parameters]
        return [{"params": ssm, "lr": self.ssm_lr, "weight_decay": self.ssm_weight_decay}]

    def features(self, sequence: Tensor, step_by_step: bool = False) -> Tensor:
        """`(time, batch, features)` -> the last block's outputs, `(batch, time, d_model)`."""
        x = self.encoder(sequence.transpose(0, 1))
        for block, norm in zip(self.blocks, self.norms, strict=True):
            z = norm(x) if self.prenorm else x
            x = x + block(z, step_by_step)
            if not self.prenorm:
                x = norm(x)
        return x

    def forward(self, sequence: Tensor) -> Tensor:
        """Map `(time, batch, features)` to logits `(batch, num_classes)`."""
        x = self.features(sequence)
        return self.head(x.mean(dim=1) if self.readout == "mean" else x[:, -1])

    def logits_per_step(self, sequence: Tensor) -> Tensor:
        """Logits `(time, batch, num_classes)` as if reading stopped after each step, by the
        recurrence (the convolution's state after step t is the recurrence's)."""
        x = self.features(sequence, step_by_step=True).transpose(0, 1)
        return self.head(running_mean(x) if self.readout == "mean" else x)
