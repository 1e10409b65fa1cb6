"""Does predict.py read digits the way people make them? `python benchmarks/predict_robustness.py --ckpt <.ckpt>`

Renders the official MNIST test digits as image files the ways people produce them (ink on
noisy off-white paper, a shadow, a tight crop, a wide margin, off-centre, a small rotation, black
ink on a transparent background, a 16-bit scan, a phone JPEG stored sideways with an EXIF
orientation, a low-resolution digit upscaled) and write them (a marker, a fine pen, leaning
handwriting, a photo out of focus), then classifies each set through predict's own code
path (file listing, decoding, preparation, the checkpoint's sequence view and network). Prints and
writes benchmarks/results/predict_robustness.md: accuracy per rendering next to the accuracy on the
plain 28x28 tensors, one column per checkpoint (`--ckpt default=a.ckpt --ckpt handwriting=b.ckpt`).
`--split val` renders the validation digits the checkpoints' runs held out instead, for choosing a
recipe without reading the test set; its report is predict_robustness_val.md.
`experiment=handwriting` was chosen so: benchmarks/results/recipe_handwriting.md.
"""

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from common import machine_line, publish
from hydra.utils import instantiate
from PIL import Image
from PIL.ImageFilter import GaussianBlur, MaxFilter, MinFilter
from torchvision.datasets import MNIST

from seqmnist.config.build import Trained, load_trained
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


def thick_pen(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    """Written with a marker: strokes about one MNIST pixel wider."""
    ink = Image.fromarray(np.round(drawn(digit) * 255).astype(np.uint8)).filter(MaxFilter(9))
    ink_on_white(np.asarray(ink, dtype=np.float32) / 255).save(stem.with_suffix(".png"))


def thin_pen(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    """Written with a fine pen: strokes about half an MNIST pixel narrower."""
    ink = Image.fromarray(np.round(drawn(digit) * 255).astype(np.uint8)).filter(MinFilter(5))
    ink_on_white(np.asarray(ink, dtype=np.float32) / 255).save(stem.with_suffix(".png"))


def slanted(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    """Handwriting that leans: sheared by a random angle within +-20 degrees."""
    slope = float(np.tan(np.radians(rng.uniform(-20, 20))))
    wide = on_canvas(drawn(digit), 2 * SIDE, SIDE // 2, SIDE // 2)
    image = Image.fromarray(np.round(wide * 255).astype(np.uint8))
    # output (x, y) reads input (x + slope * (y - centre), y): the top leans one way, the foot the other
    sheared = image.transform(
        image.size, Image.AFFINE, (1, slope, -slope * SIDE, 0, 1, 0), Image.BILINEAR
    )
    ink_on_white(np.asarray(sheared, dtype=np.float32) / 255).save(stem.with_suffix(".png"))


def out_of_focus(digit: np.ndarray, rng: np.random.Generator, stem: Path) -> None:
    """A phone photo out of focus: blurred by about half to one MNIST pixel, on grey paper."""
    ink = ink_on_white(drawn(digit)).filter(GaussianBlur(rng.uniform(2, 4)))
    grey = 0.85 * np.asarray(ink, dtype=np.float32) / 255 + rng.normal(0, 0.02, (SIDE, SIDE))
    Image.fromarray(np.round(np.clip(grey, 0, 1) * 255).astype(np.uint8)).save(
        stem.with_suffix(".png")
    )


RENDERINGS: dict[str, tuple[str, Rendering]] = {
    "plain_png": ("the 28x28 digit saved as a PNG, unchanged", plain_png),
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
    "thick_pen": ("strokes about one MNIST pixel wider (a marker)", thick_pen),
    "thin_pen": ("strokes about half an MNIST pixel narrower (a fine pen)", thin_pen),
    "slanted": ("sheared by a random angle within +-20 degrees (leaning handwriting)", slanted),
    "out_of_focus": (
        "blurred by 0.5-1 MNIST pixel on grey paper (a photo out of focus)",
        out_of_focus,
    ),
}


def accuracy_of(
    net: torch.nn.Module, view, kept: list[Path], digits, files: list[Path], labels: torch.Tensor
) -> float:
    """Accuracy over every file (a refused file counts as wrong), from the digits
    `prepared_digits` kept (prepared once, whatever the number of checkpoints)."""
    index = {path: position for position, path in enumerate(files)}
    correct = 0
    for start in range(0, len(kept), 1000):
        predicted = classify(net, view, digits[start : start + 1000]).argmax(dim=-1)
        expected = labels[[index[path] for path in kept[start : start + 1000]]]
        correct += int((predicted == expected).sum())
    return correct / len(files)


def split_digits(trained: Trained, data_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The official test digits, or the validation digits the checkpoint's run held out of
    training (its own val_size and split_seed, through its DataModule)."""
    if split == "test":
        test = MNIST(str(data_dir), train=False)
        return test.data, test.targets
    datamodule = instantiate(trained.run_config.data, data_dir=str(data_dir), augmentation=None)
    datamodule.setup("fit")
    return datamodule.data_val.images.cpu(), datamodule.data_val.labels.cpu()


def checkpoint_argument(text: str) -> tuple[str, Path]:
    """`NAME=PATH`, or a bare path named by its file."""
    name, _, path = text.rpartition("=")
    return (name or Path(path).name), Path(path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--ckpt",
        type=checkpoint_argument,
        action="append",
        required=True,
        help="a checkpoint of train.py, as PATH or NAME=PATH; repeat to compare several",
    )
    parser.add_argument(
        "--split",
        choices=("test", "val"),
        default="test",
        help="render the official test digits (for a report), or the validation digits each "
        "checkpoint's run held out (for choosing a recipe without reading the test set)",
    )
    parser.add_argument("--data-dir", type=Path, default=REPO / "data")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--count", type=int, default=None, help="digits per rendering (all)")
    arguments = parser.parse_args()

    prepare_dataset(arguments.data_dir)
    models = {name: load_trained(path) for name, path in arguments.ckpt}
    splits = {
        name: split_digits(trained, arguments.data_dir, arguments.split)
        for name, trained in models.items()
    }
    digits, labels = next(iter(splits.values()))
    if any(not torch.equal(other, labels) for _, other in splits.values()):
        raise SystemExit(
            "The checkpoints' runs held out different validation digits: compare "
            "checkpoints trained with the same data.val_size and data.split_seed."
        )
    digits, labels = digits[: arguments.count], labels[: arguments.count]
    names = list(models)
    what = "official test" if arguments.split == "test" else "validation (held out of training)"
    lines = [
        "# Predict on digits as people make them",
        "",
        f"The first {len(labels):,} {what} digits, rendered as image files and classified through "
        f"predict's code (`preprocess=mnist`); a file predict refuses counts as wrong. Measured "
        f"on {machine_line()}.",
        "",
        *[f"- {name}: `{path}`" for name, path in arguments.ckpt],
        "",
        "| rendering | how | " + " | ".join(names) + " |",
        "| --- | --- | " + " | ".join("---" for _ in names) + " |",
    ]
    plain = []
    for name in names:
        net, view = models[name].module.net, models[name].view
        with torch.no_grad():
            plain.append(float((net(view(digits)).argmax(dim=-1) == labels).float().mean()))
    lines.append(
        "| plain tensors | the digits as eval.py reads them (no file, no preparation) | "
        + " | ".join(f"{accuracy:.2%}" for accuracy in plain)
        + " |"
    )
    print("\n".join(lines), flush=True)
    totals = [0.0] * len(names)
    with tempfile.TemporaryDirectory() as scratch:
        for rendering, (description, render) in RENDERINGS.items():
            folder = Path(scratch) / rendering
            folder.mkdir()
            for position, digit in enumerate(digits.numpy()):
                render(digit, np.random.default_rng(position), folder / f"{position:05d}")
            files = image_files([str(folder)])
            kept, digits_read, problems = prepared_digits(files, "mnist")
            refused = len(problems)
            cells = []
            for column, name in enumerate(names):
                net, view = models[name].module.net, models[name].view
                accuracy = accuracy_of(net, view, kept, digits_read, files, labels)
                totals[column] += accuracy
                cells.append(f"{accuracy:.2%}" + (f" ({refused} refused)" if refused else ""))
            lines.append(f"| {rendering} | {description} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    lines.append(
        "| mean of the renderings | | "
        + " | ".join(f"{total / len(RENDERINGS):.2%}" for total in totals)
        + " |"
    )
    report = "\n".join(lines) + "\n"
    suffix = "" if arguments.split == "test" else "_val"
    publish(report, arguments.out / f"predict_robustness{suffix}.md")


if __name__ == "__main__":
    main()
