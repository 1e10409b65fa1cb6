"""`SequenceNet`: the one contract every network of this project keeps, and the helpers it shares.

Everything outside `models/` (the build, the memory check, figures, prediction, the precision
choice, the search) reads a network through this class only, never a concrete class or its
argument names. A new network subclasses it, declares its `size_settings` and implements
`forward`; `logits_per_step`, `optimizer_groups` and `precision_refusal` are optional.
"""

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from seqmnist.errors import ConfigError


class SequenceNet(nn.Module):
    """`(time, batch, input_size)` floats in, logits `(batch, num_classes)` out.

    `size_settings` names the constructor arguments that set the network's size (what the memory
    check and an out-of-memory message tell a user to lower), in the order to mention them.
    """

    size_settings: ClassVar[tuple[str, ...]] = ()

    def __init__(self, input_size: int, num_classes: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.num_classes = num_classes

    def forward(self, sequence: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    # reading step by step: the answer after each step, for figures, predict.py and the demo page

    def why_not_step_by_step(self) -> str | None:
        """None if `logits_per_step` gives the answer after each step; otherwise why it cannot."""
        if type(self).logits_per_step is SequenceNet.logits_per_step:
            return f"{type(self).__name__} does not define logits_per_step"
        return None

    @property
    def reads_step_by_step(self) -> bool:
        return self.why_not_step_by_step() is None

    def logits_per_step(self, sequence: Tensor) -> Tensor:
        """Logits `(time, batch, num_classes)` as if reading stopped after each step; step t's
        answer depends on steps 0..t only."""
        raise NotImplementedError(self.why_not_step_by_step())

    # training

    def optimizer_groups(self) -> list[dict[str, Any]]:
        """Parameters that need their own optimizer settings (each a torch param group); every
        other parameter takes the optimizer's. None by default."""
        return []

    # precision

    def precision_refusal(self, precision: str, device_type: str) -> str | None:
        """Why `precision` cannot train this network correctly on `device_type`, or None. Decided
        from settings alone, without running the network."""
        return None

    def auto_precision_objection(self, precision: str, device_type: str) -> str | None:
        """Why trainer.precision=auto should not pick the mixed `precision` for this network on
        `device_type` although it runs there (measured slower, or less accurate), or None. An
        explicit trainer.precision still gets it."""
        return None

    def precision_problem(self, precision: str, device_type: str) -> str | None:
        """Its own refusal, then (CPU bfloat16) one forward pass on a blank step, since a missing
        kernel only shows when it runs."""
        reason = self.precision_refusal(precision, device_type)
        if reason is None and device_type == "cpu" and precision.startswith("bf16"):
            reason = self._cpu_bf16_failure()
        return reason

    def ensure_precision_runs(self, precision: str, device_type: str) -> None:
        """Refuse, before training, a precision this network cannot train with on this device."""
        reason = self.precision_problem(precision, device_type)
        if reason is not None:
            raise ConfigError(
                f"trainer.precision={precision} cannot train this network here: {reason}"
            )

    def _cpu_bf16_failure(self) -> str | None:
        parameter = next(self.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        was_training = self.training
        try:
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
                self.eval()(torch.zeros(1, 1, self.input_size, device=device))
        except RuntimeError as error:
            return (
                f"torch has no bfloat16 kernel for one of its layers on this CPU "
                f"({str(error).split('.')[0]}). CPU bf16 needs AVX512-BF16 or AMX (torch reports "
                f"CPU capability {torch.backends.cpu.get_cpu_capability()}). Use "
                f"trainer.precision=32-true on this machine, or bf16-mixed on a GPU."
            )
        finally:
            self.train(was_training)
        return None


def running_mean(outputs: Tensor) -> Tensor:
    """`(time, ...)` -> the mean of the outputs up to each step: a mean readout cut at every step."""
    steps = torch.arange(1, len(outputs) + 1, device=outputs.device, dtype=outputs.dtype)
    return outputs.cumsum(dim=0) / steps.view(-1, *([1] * (outputs.dim() - 1)))
