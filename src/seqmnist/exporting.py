"""What `python export.py` does: the checkpoint's network as ONNX or a torch.export program, with
the contract a caller needs to feed it (model.json), checked against the checkpoint before it is
kept."""

import json
import logging
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import Tensor

from seqmnist.config.build import load_trained
from seqmnist.data.datasets import dataset_record
from seqmnist.data.sequence import SIDE, SequenceView
from seqmnist.errors import ConfigError, SeqmnistError
from seqmnist.models import SequenceNet
from seqmnist.records.checkpoints import resolve_checkpoint

log = logging.getLogger(__name__)

FORMATS = {"onnx": "model.onnx", "pt2": "model.pt2"}
# an exported network must give the checkpoint's logits to this tolerance
TOLERANCE = 1e-4


class ExportRefused(SeqmnistError):
    """This network cannot be written in the asked format: nothing is written."""


def export(cfg: DictConfig) -> dict[str, float]:
    if cfg.format not in FORMATS:
        raise ConfigError(
            f"format={cfg.format} is not an export format. Use format=onnx (ONNX, for "
            f"onnxruntime; needs pip install -e '.[export]') or format=pt2 (a torch.export "
            f"program, loaded with torch.export.load)."
        )
    checkpoint = resolve_checkpoint(cfg.ckpt_path, Path(cfg.paths.log_dir))
    trained = load_trained(checkpoint)
    net, view = trained.module.net.eval(), trained.view
    example = view(torch.zeros(2, SIDE, SIDE, dtype=torch.uint8))
    target = Path(cfg.paths.output_dir) / FORMATS[cfg.format]
    target.parent.mkdir(parents=True, exist_ok=True)
    write = _write_onnx if cfg.format == "onnx" else _write_pt2
    try:
        run_exported = write(net, example, target)
        difference = _largest_difference(net, run_exported, view)
    except ExportRefused:
        target.unlink(missing_ok=True)
        raise
    if difference > TOLERANCE:
        target.unlink(missing_ok=True)
        raise ExportRefused(
            f"The exported {type(net).__name__} differs from the checkpoint's by {difference:.2g} "
            f"in its logits (allowed {TOLERANCE}); nothing was written. Try format=pt2."
        )
    contract = _contract(cfg.format, target.name, net, view, trained.run_config, checkpoint)
    (target.parent / "model.json").write_text(json.dumps(contract, indent=2))
    print(
        f"Exported {type(net).__name__} ({cfg.format}): {target}, contract {target.parent / 'model.json'}"
    )
    return {"max_logit_difference": difference}


def _write_onnx(net: SequenceNet, example: Tensor, target: Path):
    try:
        import onnxruntime
        from torch.onnx.errors import UnsupportedOperatorError
    except ImportError as missing:
        raise ExportRefused(
            f"format=onnx needs {missing.name}, an optional extra of seqmnist: install it with "
            f"pip install -e '.[export]' (or use format=pt2, which needs nothing more)."
        ) from None
    try:
        # TorchScript-based exporter: the dynamo exporter took minutes for a small LSTM here
        torch.onnx.export(
            net, (example,), target, dynamo=False, input_names=["sequence"],
            output_names=["logits"], dynamic_axes={"sequence": {1: "batch"}, "logits": {0: "batch"}},
        )  # fmt: skip
    except (UnsupportedOperatorError, RuntimeError) as error:
        raise ExportRefused(
            f"{type(net).__name__} cannot be written as ONNX ({str(error).splitlines()[0]}); "
            f"nothing was written. Use format=pt2 (a torch.export program)."
        ) from error
    session = onnxruntime.InferenceSession(str(target))
    return lambda sequence: torch.from_numpy(session.run(None, {"sequence": sequence.numpy()})[0])


def _write_pt2(net: SequenceNet, example: Tensor, target: Path):
    program = torch.export.export(net, (example,), dynamic_shapes=({1: torch.export.Dim("batch")},))
    torch.export.save(program, target)
    reloaded = torch.export.load(target).module()
    return lambda sequence: reloaded(sequence)


def _largest_difference(net: SequenceNet, run_exported, view: SequenceView) -> float:
    """Checked on a batch of random images: the exported network against the checkpoint's."""
    images = torch.randint(0, 256, (16, SIDE, SIDE), generator=torch.Generator().manual_seed(0))
    sequence = view(images.to(torch.uint8))
    with torch.no_grad():
        return float((run_exported(sequence) - net(sequence)).abs().max())


def reading_order(view: SequenceView) -> list[int]:
    """order[t * features + f]: the pixel (of the image flattened row by row) that step t's
    feature f reads; derived from the view itself, through images of pixel indices."""
    index = torch.arange(SIDE * SIDE).view(1, SIDE, SIDE)
    plain = SequenceView(view.mode, 0.0, 1.0)
    plain.adopt_permutation(view.permutation)
    low, high = (plain(part.to(torch.uint8)) for part in (index % 256, index // 256))
    read = (high * 255).round() * 256 + (low * 255).round()
    return [int(pixel) for pixel in read.squeeze(1).flatten()]


def _contract(
    format_: str, file: str, net: SequenceNet, view: SequenceView, run_cfg: Any, checkpoint: Path
) -> dict[str, Any]:
    order = reading_order(view)
    steps = len(order) // net.input_size
    return {
        "format": format_,
        "file": file,
        "network": type(net).__name__,
        "checkpoint": str(checkpoint),
        "input": {"name": "sequence", "layout": "(time, batch, features)", "dtype": "float32"},
        "steps": steps,
        "features": net.input_size,
        "mean": float(run_cfg.data.mean),
        "std": float(run_cfg.data.std),
        "order": order,
        "classes": list(dataset_record(run_cfg.data.get("dataset", "mnist")).class_names),
        "output": "logits (batch, classes); softmax gives the class probabilities",
        "how": "image: 28x28 uint8, a digit made as MNIST's were (light on black, centred by "
        "mass; predict.py's preparation). x = (image / 255 - mean) / std; sequence = "
        "x.flatten()[order].reshape(steps, 1, features)",
    }
