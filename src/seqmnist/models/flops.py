"""FLOP formulas for the fused recurrent kernels, so model summaries count the recurrent layers.

torch's `FlopCounterMode` (behind Lightning's summary) has no formula for the fused kernels
`nn.LSTM` runs on, so an LSTM would count 0 FLOPs; like torch's, these count forward matrix
products only, 2 FLOPs per multiply-add.
"""

import functools
from collections.abc import Iterable, Sequence
from math import prod
from typing import Any

import torch
from torch.utils.flop_counter import flop_registry, register_flop_formula

Shape = Sequence[int]


def recurrent_matmul_flops(input_shape: Shape, weight_shapes: Iterable[Shape | None]) -> int:
    """Every weight matrix of a recurrent kernel multiplies one vector per input token.

    Tokens are all leading dimensions of the input: (time, batch), (batch, time) or, for packed
    sequences, the total length. Bias vectors (1-D) and absent weights (None) add no products.
    """
    tokens = prod(input_shape[:-1])
    matrices = (shape for shape in weight_shapes if shape is not None and len(shape) == 2)
    return 2 * tokens * sum(prod(shape) for shape in matrices)


def onednn_lstm_layer_flops(
    input_shape: Shape, weight_ih: Shape, weight_hh: Shape, *args: Any, **kwargs: Any
) -> int:
    """`aten.mkldnn_rnn_layer`: one layer, one direction (its biases are weight2/weight3)."""
    return recurrent_matmul_flops(input_shape, (weight_ih, weight_hh))


def cudnn_rnn_flops(input_shape: Shape, weights: Sequence[Shape], *args: Any, **kwargs: Any) -> int:
    """`aten._cudnn_rnn`: all layers and directions in one call, their weights in one list."""
    return recurrent_matmul_flops(input_shape, weights)


@functools.cache  # once per process
def register_flop_formulas() -> None:
    """Called by the LightningModule's setup; call it before `measure_flops` outside a Trainer."""
    formulas = {
        torch.ops.aten.mkldnn_rnn_layer: onednn_lstm_layer_flops,
        torch.ops.aten._cudnn_rnn: cudnn_rnn_flops,
    }
    for op, formula in formulas.items():
        if op not in flop_registry:
            register_flop_formula(op)(formula)
