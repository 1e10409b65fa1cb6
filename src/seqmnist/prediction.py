"""What `python predict.py` does: classify the user's own image files with a checkpoint."""

import csv
import logging
from pathlib import Path
from typing import BinaryIO

import torch
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table
from torch import Tensor

from seqmnist.config.build import load_trained
from seqmnist.data.sequence import SIDE, SequenceView
from seqmnist.errors import ConfigError, DataError
from seqmnist.figures.reading import reading_figure, reading_tag
from seqmnist.images.decoding import read_grey
from seqmnist.images.mnist_style import PREPARATIONS
from seqmnist.models import SequenceNet
from seqmnist.records.checkpoints import resolve_checkpoint

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
ON_ERROR = ("stop", "skip")


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


def _save_reading_figure(
    net: SequenceNet,
    view: SequenceView,
    images: Tensor,
    sequence: Tensor,
    files: list[Path],
    output_dir: Path,
) -> None:
    if not net.reads_step_by_step:
        log.warning("figure=true: no reading figure, because %s", net.why_not_step_by_step())
        return
    probabilities = probabilities_per_step(net, sequence)
    titles = [path.name for path in files]
    originals = [read_grey(path) for path in files]
    figure = reading_figure(
        images, probabilities, titles=titles, step_name=view.step_name, originals=originals
    )
    target = output_dir / f"{reading_tag(view.step_name)}.png"
    figure.savefig(target, dpi=100)
    log.info("Wrote %s", target)
    print(f"Reading figure ({view.step_name} by {view.step_name}): {target}")


def prepared_digits(
    files: list[Path], preprocess: str
) -> tuple[list[Path], Tensor, dict[Path, str]]:
    """Each file decoded and prepared as a 28x28 digit: (files kept, digits, problem per file).

    Every file is tried, so a folder's unreadable and blank files are reported together.
    """
    kept, digits, problems = [], [], {}
    for path in files:
        try:
            digits.append(prepared_digit(path, preprocess))
        except DataError as error:
            problems[path] = str(error)
            continue
        kept.append(path)
    empty = torch.empty(0, SIDE, SIDE, dtype=torch.uint8)
    return kept, torch.stack(digits) if digits else empty, problems


def prepared_digit(picture: Path | BinaryIO, preprocess: str) -> Tensor:
    """One picture (a file, or its bytes as the demo page sends them) as a 28x28 uint8 digit;
    a picture that is unreadable, blank or only noise raises DataError saying so."""
    return PREPARATIONS[preprocess](read_grey(picture))


def classify(net: SequenceNet, view: SequenceView, digits: Tensor) -> Tensor:
    """Class probabilities `(images, classes)` of prepared digits, read as the model was trained."""
    with torch.no_grad():
        return torch.softmax(net(view(digits)), dim=-1)


def probabilities_per_step(net: SequenceNet, sequence: Tensor) -> Tensor:
    """`(steps, images, classes)`: the class probabilities after each step of the reading, for a
    network that reads step by step (`net.reads_step_by_step`)."""
    with torch.no_grad():
        return torch.softmax(net.logits_per_step(sequence), dim=-1)


def predict(cfg: DictConfig) -> dict[str, float]:
    """Print each image's class and probabilities, write predictions.csv; optionally the figure."""
    _check_options(cfg)
    requested = image_files(list(cfg.images) if not isinstance(cfg.images, str) else [cfg.images])
    files, digits, problems = prepared_digits(requested, cfg.preprocess)
    _handle_problems(problems, len(requested), cfg.on_error, nothing_left=not files)
    trained = load_trained(resolve_checkpoint(cfg.ckpt_path, Path(cfg.paths.log_dir)))
    net, view = trained.module.net, trained.view
    final = classify(net, view, digits)
    _print_predictions(files, final)
    output_dir = Path(cfg.paths.output_dir)
    _write_predictions(files, final, output_dir / "predictions.csv")
    if cfg.figure:
        _save_reading_figure(net, view, digits, view(digits), files, output_dir)
    return {str(path): float(final[i].argmax()) for i, path in enumerate(files)}


def check_preprocess(preprocess: str) -> None:
    """The `preprocess` option of predict.py and demo.py: one of PREPARATIONS."""
    if preprocess not in PREPARATIONS:
        raise ConfigError(
            f"preprocess={preprocess} is not a preparation. Use preprocess=mnist (crop, fit "
            f"into 20x20, centre by mass, as MNIST was made) or preprocess=resize (pad and resize "
            f"only, for images that already look like MNIST digits)."
        )


def _check_options(cfg: DictConfig) -> None:
    check_preprocess(cfg.preprocess)
    if cfg.on_error not in ON_ERROR:
        raise ConfigError(
            f"on_error={cfg.on_error} is not an option. Use on_error=stop (refuse if any image "
            f"cannot be classified) or on_error=skip (classify the others)."
        )


def _handle_problems(
    problems: dict[Path, str], requested: int, on_error: str, nothing_left: bool
) -> None:
    if not problems:
        return
    listing = "\n".join(f"  {path}: {problem}" for path, problem in problems.items())
    summary = f"{len(problems)} of {requested} images cannot be classified:\n{listing}"
    if on_error == "stop" or nothing_left:
        fix = (
            "Replace or remove them"
            if nothing_left
            else "Replace or remove them, or pass on_error=skip to classify the others"
        )
        raise DataError(f"{summary}\n{fix}.")
    log.warning("%s\nClassifying the other %d (on_error=skip).", summary, requested - len(problems))


def _write_predictions(files: list[Path], probabilities: Tensor, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as stream:
        writer = csv.writer(stream)
        classes = range(probabilities.shape[1])
        writer.writerow(["file", "class", "probability", *[f"p{digit}" for digit in classes]])
        for path, row in zip(files, probabilities, strict=True):
            writer.writerow(
                [str(path), int(row.argmax()), f"{float(row.max()):.6f}"]
                + [f"{float(p):.6f}" for p in row]
            )
    log.info("Wrote %s", target)
    print(f"Predictions: {target}")


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
