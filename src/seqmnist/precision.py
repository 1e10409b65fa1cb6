"""bfloat16 on a CPU works only where oneDNN has bf16 recurrent kernels; say so before training."""

import torch
from torch import nn

from seqmnist.errors import ConfigError


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
