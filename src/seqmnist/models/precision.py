"""Precisions that cannot run a recurrent network correctly on this device: said before training."""

import torch
from torch import nn

from seqmnist.errors import ConfigError


def ensure_precision_suits_rnn(net: nn.Module, precision: str, device_type: str) -> None:
    """Refuse `precision` where it would crash or silently train the recurrent layers wrongly."""
    if device_type == "cpu" and precision.startswith("bf16"):
        ensure_cpu_runs_bf16(net, precision)
    recurrent = [type(m).__name__ for m in net.modules() if isinstance(m, nn.RNNBase)]
    if device_type == "cuda" and precision == "bf16-mixed" and recurrent:
        # torch's autocast wrapper for the cuDNN RNN kernel (_cudnn_rnn_cast_reflatten) casts the
        # weights to float16 whatever the autocast dtype is: bf16-mixed would train the RNN in fp16
        # without the loss scaling fp16 needs (pytorch/pytorch#42385)
        raise ConfigError(
            f"trainer.precision=bf16-mixed cannot train this model's {recurrent[0]} correctly on a "
            f"GPU: autocast runs cuDNN's recurrent kernel in float16 whatever the autocast dtype, "
            f"and bf16-mixed adds no loss scaling. Use trainer.precision=16-mixed (float16 with "
            f"loss scaling) or 32-true."
        )


def ensure_cpu_runs_bf16(net: nn.Module, precision: str) -> None:
    """Run each recurrent layer of `net` once on a zero input under CPU bf16 autocast.

    Without AVX512-BF16 or AMX, oneDNN cannot build a bf16 LSTM and torch fails at the first batch
    with "could not create a primitive descriptor"; this turns that into the fix, before any
    training. (GRU runs in float32 under autocast and RNN has a fallback, so only some cells fail.)
    """
    for layer in net.modules():
        if not isinstance(layer, nn.RNNBase):
            continue
        try:
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
                layer(torch.zeros(1, 1, layer.input_size, device="cpu"))
        except RuntimeError as error:
            raise ConfigError(
                f"trainer.precision={precision} cannot run this model's {type(layer).__name__} on "
                f"this CPU: torch has no bfloat16 kernel for it here ({str(error).split('.')[0]}). "
                f"CPU bf16 needs AVX512-BF16 or AMX (torch reports CPU capability "
                f"{torch.backends.cpu.get_cpu_capability()}). Use trainer.precision=32-true on this "
                f"machine, or bf16-mixed on a GPU."
            ) from error
