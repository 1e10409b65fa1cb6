"""`trainer.precision=auto`: the fastest precision that trains the chosen network correctly on the
device, and why; an explicit `trainer.precision=...` is used as it is."""

import torch

from seqmnist.machine import Hardware, hardware
from seqmnist.models import SequenceNet

AUTO = "auto"


def device_type_of(accelerator: str) -> str:
    """What a Trainer with this accelerator computes on: cuda or cpu (mps and others: cpu rules)."""
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available()):
        return "cuda"
    return "cpu"


def choose_precision(net: SequenceNet, device_type: str, facts: Hardware) -> tuple[str, str]:
    """(precision, reason): bf16-mixed where the device computes bfloat16 and the network trains
    correctly in it, unless the network objects (it measured slower or less accurate so); on a
    GPU, 16-mixed for a network that refuses bf16-mixed there (cuDNN's recurrent layers); 32-true
    otherwise."""
    if device_type == "cuda":
        if not facts.gpu_bf16:
            return "32-true", f"the GPU ({facts.gpu}) has no native bfloat16"
        refusal = net.precision_problem("bf16-mixed", "cuda")
        if refusal is None:
            return "bf16-mixed", f"the GPU ({facts.gpu}) computes bfloat16 natively"
        return "16-mixed", f"bf16-mixed is refused for this network on a GPU: {refusal}"
    if not facts.cpu_bf16:
        return "32-true", (
            f"this CPU ({facts.describe_cpu()}) has neither AMX-BF16 nor AVX512-BF16, so bfloat16 "
            f"would not be faster"
        )
    problem = net.precision_problem("bf16-mixed", "cpu")
    if problem is not None:
        return "32-true", f"bf16-mixed cannot train this network on this CPU: {problem}"
    objection = net.auto_precision_objection("bf16-mixed", "cpu")
    if objection is not None:
        return "32-true", f"bf16-mixed runs here, but {objection}"
    return "bf16-mixed", (
        f"this CPU ({facts.describe_cpu()}) computes bfloat16 in torch's oneDNN kernels"
    )


def resolve_precision(
    setting: str,
    accelerator: str,
    net: SequenceNet,
    trained_with: str | None = None,
    facts: Hardware | None = None,
) -> tuple[str, str]:
    """The precision a run computes in and why: `setting` unless it is `auto`. An evaluation
    (`trained_with`: the checkpoint's precision) keeps the precision the network was trained and
    tested with where this device runs it, so it reproduces the run's own test figure."""
    if str(setting) != AUTO:
        return str(setting), "set by trainer.precision"
    device = device_type_of(str(accelerator))
    if trained_with not in (None, AUTO) and net.precision_problem(trained_with, device) is None:
        return str(trained_with), "the precision the checkpoint's run trained and tested with"
    return choose_precision(net, device, facts or hardware())
