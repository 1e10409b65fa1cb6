"""Does predict.py read digits the way people make them? `python benchmarks/predict_robustness.py --ckpt <.ckpt>`

Renders the official MNIST test digits as image files the ways people produce them (ink on
noisy off-white paper, a shadow, a tight crop, a wide margin, off-centre, a small rotation, black
ink on a transparent background, a 16-bit scan, a phone JPEG stored sideways with an EXIF
orientation, a low-resolution digit upscaled), then classifies each set through predict's own code
path (file listing, decoding, preparation, the checkpoint's sequence view and network). Prints and
writes benchmarks/results/predict_robustness.md: accuracy per rendering next to the accuracy on the
plain 28x28 test tensors. Every figure is over the first --count test digits (default: all 10,000).
"""

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from common import publish
from PIL import Image
from torchvision.datasets import MNIST

from seqmnist.config.build import load_trained
from seqmnist.data.sources import prepare_dataset
from seqmnist.prediction import classify, image_files, prepared_digits

REPO = Path(__file__).resolve().parents[1]
SIDE = 112  # a digit drawn at 4x MNIST's resolution, as a phone or scanner would give
Rendering = Callable[[np.ndarray, np.random.Generator, Path], None]


def drawn(digit: np.ndarray, side: int = SIDE) -> np.ndarray:
    """The 28x28 digit at `side` pixels, ink strength 0-1."""
    image = Image.fromarray(digit).resize((side, side), Image.BICUBIC)
    return np.clip(np.asarray(image, dtype=np.float32) / 255, 0, 1)


def ink_on_white(ink: np.ndarray) -> Image.Image:
    return Image.fromarray(np.round((1 - ink) * 255).astype(np.uint8))


def on_canvas(ink: np.ndarray, side: int, top: int, left: int) -> np.ndarray:
    canvas = np.zeros((side, side), dtype=np.float32)
    canvas[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return canvas


def plain_png(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    Image.fromarray(digit).save(stem.with_suffix(".png"))


def noisy_paper(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    paper, ink_tone = rng.uniform(0.78, 0.92), rng.uniform(0.05, 0.25)
    grey = paper - (paper - ink_tone) * drawn(digit) + rng.normal(0, 0.04, (SIDE, SIDE))
    Image.fromarray(np.round(np.clip(grey, 0, 1) * 255).astype(np.uint8)).save(
        stem.with_suffix(".png")
    )


def shadow(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    """Paper lit from one side: brightness falls by up to 35 % across the picture."""
    angle = rng.uniform(0, 2 * np.pi)
    rows, columns = np.mgrid[0:SIDE, 0:SIDE] / (SIDE - 1) - 0.5
    along = rows * np.sin(angle) + columns * np.cos(angle)
    paper = 0.9 * (1 - 0.35 * (along - along.min()) / (along.max() - along.min()))
    grey = paper * (1 - 0.85 * drawn(digit)) + rng.normal(0, 0.02, (SIDE, SIDE))
    Image.fromarray(np.round(np.clip(grey, 0, 1) * 255).astype(np.uint8)).save(
        stem.with_suffix(".png")
    )


def tight_crop(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    ink = drawn(digit)
    rows, columns = np.nonzero(ink > 0)
    cropped = ink[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    ink_on_white(cropped).save(stem.with_suffix(".png"))


def wide_margin(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    """The digit fills a quarter of the picture's width."""
    ink_on_white(on_canvas(drawn(digit), 4 * SIDE, 3 * SIDE // 2, 3 * SIDE // 2)).save(
        stem.with_suffix(".png")
    )


def off_centre(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    top, left = rng.integers(0, 3 * SIDE // 2, size=2)
    ink_on_white(on_canvas(drawn(digit), 5 * SIDE // 2, int(top), int(left))).save(
        stem.with_suffix(".png")
    )


def rotated(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    """Turned by up to 10 degrees either way, as a page held slightly askew."""
    image = Image.fromarray(np.round(drawn(digit) * 255).astype(np.uint8))
    turned = np.asarray(image.rotate(rng.uniform(-10, 10), Image.BILINEAR), dtype=np.float32)
    ink_on_white(turned / 255).save(stem.with_suffix(".png"))


def transparent(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    """Black ink whose opacity is the stroke, on a transparent background (drawing apps)."""
    alpha = np.round(drawn(digit) * 255).astype(np.uint8)
    rgba = np.zeros((SIDE, SIDE, 4), dtype=np.uint8)
    rgba[..., 3] = alpha
    Image.fromarray(rgba, "RGBA").save(stem.with_suffix(".png"))


def sixteen_bit(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    """A 16-bit grey scan, dark ink on light paper."""
    values = np.round((0.92 - 0.8 * drawn(digit)) * 65535).astype(np.uint16)
    Image.fromarray(values).save(stem.with_suffix(".png"))


def exif_sideways_jpeg(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    """A phone JPEG: pixels stored turned a quarter left, EXIF Orientation 6 says turn them back."""
    stored = ink_on_white(drawn(digit)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.convert("RGB").save(stem.with_suffix(".jpg"), quality=90, exif=exif)


def low_resolution(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    """A 12x12 thumbnail blown up to full size: detail lost, not recoverable by preparation."""
    small = Image.fromarray(digit).resize((12, 12), Image.BILINEAR)
    ink = np.asarray(small.resize((SIDE, SIDE), Image.BICUBIC), dtype=np.float32) / 255
    ink_on_white(np.clip(ink, 0, 1)).save(stem.with_suffix(".png"))


RENDERINGS: dict[str, tuple[str, Rendering]] = {
    "plain_png": ("the 28x28 test digit saved as a PNG, unchanged", plain_png),
    "noisy_paper": (
        "dark ink on off-white paper (tone 0.78-0.92), sensor noise sigma 0.04",
        noisy_paper,
    ),
    "shadow": ("paper darkening by 35 % across the picture in a random direction", shadow),
    "tight_crop": ("cropped to the ink's edges, no margin", tight_crop),
    "wide_margin": ("the digit a quarter of the picture's width, centred", wide_margin),
    "off_centre": ("the digit at a random place in a 2.5x larger picture", off_centre),
    "rotated": ("turned by a random angle within +-10 degrees", rotated),
    "transparent": ("black ink on a transparent background (RGBA)", transparent),
    "sixteen_bit": ("16-bit grey PNG, dark ink on light", sixteen_bit),
    "exif_jpeg": ("JPEG stored sideways with EXIF Orientation 6", exif_sideways_jpeg),
    "low_resolution": ("a 12x12 thumbnail upscaled (detail lost)", low_resolution),
}


def accuracy_of(
    net: torch.nn.Module, view, files: list[Path], labels: torch.Tensor, preprocess: str
) -> tuple[float, int]:
    """Accuracy over every file (a refused file counts as wrong) and how many were refused."""
    kept, digits, problems = prepared_digits(files, preprocess)
    index = {path: position for position, path in enumerate(files)}
    correct = 0
    for start in range(0, len(kept), 1000):
        predicted = classify(net, view, digits[start : start + 1000]).argmax(dim=-1)
        expected = labels[[index[path] for path in kept[start : start + 1000]]]
        correct += int((predicted == expected).sum())
    return correct / len(files), len(problems)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ckpt", type=Path, required=True, help="a checkpoint of train.py")
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--count", type=int, default=10_000, help="test digits per rendering")
    arguments = parser.parse_args()

    prepare_dataset(arguments.data_dir)
    test = MNIST(str(arguments.data_dir), train=False)
    digits, labels = test.data[: arguments.count], test.targets[: arguments.count]
    trained = load_trained(arguments.ckpt)
    net, view = trained.module.net, trained.view
    with torch.no_grad():
        plain = float((net(view(digits)).argmax(dim=-1) == labels).float().mean())

    lines = [
        "# Predict on digits as people make them",
        "",
        f"Checkpoint `{arguments.ckpt.name}`, the first {len(labels):,} official test digits. "
        f"`preprocess=mnist` is predict's default; `preprocess=resize` pads and resizes only "
        f"(predict's former preparation, after the new decoding of EXIF, alpha and 16-bit files). "
        f"A file predict refuses (no digit found) counts as wrong.",
        "",
        "| rendering | how | preprocess=mnist | against plain | refused | preprocess=resize (refused) |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| plain tensors | the test set as eval.py reads it (no file, no preparation) | "
        f"{plain:.2%} | | | |",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        for name, (description, render) in RENDERINGS.items():
            folder = Path(scratch) / name
            folder.mkdir()
            for position, digit in enumerate(digits.numpy()):
                render(digit, np.random.default_rng(position), folder / f"{position:05d}")
            files = image_files([str(folder)])
            accuracy, refused = accuracy_of(net, view, files, labels, "mnist")
            resized, refused_resized = accuracy_of(net, view, files, labels, "resize")
            lines.append(
                f"| {name} | {description} | {accuracy:.2%} | "
                f"{(accuracy - plain) * 100:+.2f} points | {refused} | {resized:.2%} ({refused_resized}) |"
            )
            print(lines[-1], flush=True)
    report = "\n".join(lines) + "\n"
    publish(report, arguments.out / "predict_robustness.md")


if __name__ == "__main__":
    main()
