"""What `python predict.py` does: classify the user's own image files with a checkpoint."""

import logging
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image, UnidentifiedImageError
from rich.console import Console
from rich.table import Table
from torch import Tensor, nn
from torchvision.transforms.functional import pil_to_tensor, resize

from seqmnist.checkpoints import (
    TRAINING_TASK,
    read_checkpoint,
    resolve_checkpoint,
    run_config_of,
)
from seqmnist.data.datamodule import sequence_view_of
from seqmnist.data.sequence import SequenceView
from seqmnist.errors import DataError
from seqmnist.figures import reading_figure, reading_tag

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
MNIST_SIDE = 28


def load_digit(path: Path) -> Tensor:
    """Any readable image as a `(28, 28)` uint8 digit, light on dark as in MNIST.

    Dark-on-light drawings (ink on paper) are inverted, judged by the border, which is background.
    Non-square images are padded to a square first so the digit keeps its shape.
    """
    try:
        with Image.open(path) as opened:
            gray = opened.convert("L")
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(
            f"{path} is not an image that can be read ({type(error).__name__}). Pass PNG or JPEG files "
            f"of single digits."
        ) from error
    pixels = pil_to_tensor(gray)[0]
    border = torch.cat([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]]).float().mean()
    if border > 127:
        pixels = 255 - pixels
    height, width = pixels.shape
    side = max(height, width)
    square = torch.zeros(side, side, dtype=torch.uint8)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = pixels
    return resize(square[None], [MNIST_SIDE, MNIST_SIDE], antialias=True)[0]


def image_files(paths: list[str]) -> list[Path]:
    """Expand folders into their image files; report paths that do not exist."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(
                f"{path} does not exist. Pass image files or folders: images=[a.png,digits/]"
            )
    if not files:
        raise DataError(f"No image files in {paths}. Pass PNG or JPEG files: images=[a.png,b.jpg]")
    return files


def load_network(checkpoint_path: Path) -> tuple[nn.Module, SequenceView, DictConfig]:
    """The trained network, how it reads images (mode, normalisation, pixel order) and the run config."""
    checkpoint = read_checkpoint(checkpoint_path)
    run_cfg = run_config_of(checkpoint)
    net = instantiate(run_cfg.model)
    prefix = "net."
    net.load_state_dict(
        {k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    )
    return net.eval(), sequence_view_of(run_cfg.data, checkpoint), run_cfg


def _save_reading_figure(
    net: nn.Module,
    view: SequenceView,
    images: Tensor,
    sequence: Tensor,
    files: list[Path],
    output_dir: Path,
) -> None:
    if not net.reads_step_by_step:
        log.warning("figure=true: a bidirectional network reads every step first; no figure")
        return
    with torch.no_grad():
        probabilities = torch.softmax(net.logits_per_step(sequence), dim=-1)
    titles = [path.name for path in files]
    figure = reading_figure(images, probabilities, titles=titles, step_name=view.step_name)
    target = output_dir / f"{reading_tag(view.step_name)}.png"
    figure.savefig(target, dpi=100)
    log.info("Wrote %s", target)
    print(f"Reading figure ({view.step_name} by {view.step_name}): {target}")


def predict(cfg: DictConfig) -> dict[str, float]:
    """Print each image's class and probabilities; optionally save the row-by-row figure."""
    files = image_files(list(cfg.images) if not isinstance(cfg.images, str) else [cfg.images])
    images = torch.stack([load_digit(path) for path in files])  # bad files fail before any loading
    net, view, _ = load_network(
        resolve_checkpoint(cfg.ckpt_path, Path(cfg.paths.log_dir) / TRAINING_TASK)
    )
    sequence = view(images)
    with torch.no_grad():
        final = torch.softmax(net(sequence), dim=-1)
    _print_predictions(files, final)
    if cfg.figure:
        _save_reading_figure(net, view, images, sequence, files, Path(cfg.paths.output_dir))
    return {str(path): float(final[i].argmax()) for i, path in enumerate(files)}


def _print_predictions(files: list[Path], probabilities: Tensor) -> None:
    table = Table(title="Predictions", title_justify="left")
    for column in (
        "file",
        "class",
        "probability",
        *[str(d) for d in range(probabilities.shape[1])],
    ):
        table.add_column(column, justify="left" if column == "file" else "right")
    for path, row in zip(files, probabilities, strict=True):
        table.add_row(
            str(path),
            str(int(row.argmax())),
            f"{float(row.max()):.4f}",
            *[f"{float(p):.3f}" for p in row],
        )
    Console(width=200).print(table)
