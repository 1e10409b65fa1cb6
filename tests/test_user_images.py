"""Image files as people make them decode to the picture a person sees, and pictures of a digit
are prepared the way MNIST's digits were (specifications of predict's preparation, synthetic)."""

import numpy as np
import pytest
import torch
from PIL import Image

from seqmnist.images.decoding import read_grey
from seqmnist.images.mnist_style import (
    NoDigitFound,
    prepare_by_resizing,
    prepare_like_mnist,
)


def seven(side: int = 112) -> np.ndarray:
    """A digit-like shape, ink strength 0-1: a top bar and a slanted stroke, asymmetric."""
    ink = np.zeros((side, side), dtype=np.float32)
    unit = side // 28
    ink[6 * unit : 9 * unit, 7 * unit : 21 * unit] = 1.0
    for row in range(9 * unit, 23 * unit):
        column = 20 * unit - (row - 9 * unit) * 6 // 14
        ink[row, column - 2 * unit : column + unit] = 1.0
    return ink


def on_paper(ink: np.ndarray, paper: float = 1.0, ink_tone: float = 0.0) -> np.ndarray:
    return paper - (paper - ink_tone) * ink


def save_grey(values: np.ndarray, path) -> None:
    Image.fromarray(np.round(np.clip(values, 0, 1) * 255).astype(np.uint8)).save(path)


# decoding


def test_exif_orientation_turns_a_phone_photo_upright(tmp_path):
    upright = Image.fromarray(np.round(on_paper(seven()) * 255).astype(np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to display"
    upright.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "phone.jpg", exif=exif)
    read = read_grey(tmp_path / "phone.jpg")
    assert read.shape == (112, 112)
    assert (read - torch.from_numpy(on_paper(seven()))).abs().mean() < 0.02


def test_black_ink_on_transparency_reads_as_ink_on_white(tmp_path):
    rgba = np.zeros((112, 112, 4), dtype=np.uint8)
    rgba[..., 3] = np.round(seven() * 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "drawn.png")
    assert torch.allclose(read_grey(tmp_path / "drawn.png"), torch.from_numpy(on_paper(seven())))


def test_white_ink_on_transparency_reads_as_white_on_black(tmp_path):
    rgba = np.full((112, 112, 4), 255, dtype=np.uint8)
    rgba[..., 3] = np.round(seven() * 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "chalk.png")
    assert torch.allclose(read_grey(tmp_path / "chalk.png"), torch.from_numpy(seven()))


def test_a_16_bit_scan_is_scaled_by_its_range_not_clipped(tmp_path):
    values = np.where(seven() > 0, 5_000, 60_000).astype(np.uint16)  # dark ink, light paper
    Image.fromarray(values).save(tmp_path / "scan.png")
    assert Image.open(tmp_path / "scan.png").mode == "I;16"
    assert torch.equal(read_grey(tmp_path / "scan.png"), torch.from_numpy(1 - seven()))


def test_a_palette_image_with_a_transparent_index_reads_as_ink_on_white(tmp_path):
    rgba = np.zeros((112, 112, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(seven() > 0, 255, 0)
    Image.fromarray(rgba, "RGBA").quantize(colors=2).save(tmp_path / "palette.png")
    assert torch.allclose(read_grey(tmp_path / "palette.png"), torch.from_numpy(1 - seven()))


def test_a_cmyk_jpeg_reads_as_its_grey_picture(tmp_path):
    Image.fromarray(np.round(on_paper(seven()) * 255).astype(np.uint8)).convert("CMYK").save(
        tmp_path / "print.jpg", quality=95
    )
    read = read_grey(tmp_path / "print.jpg")
    assert (read - torch.from_numpy(on_paper(seven()))).abs().mean() < 0.03


def test_an_animated_gif_gives_its_first_frame(tmp_path):
    first = Image.fromarray(np.round(on_paper(seven()) * 255).astype(np.uint8))
    blank = Image.new("L", first.size, 255)
    first.save(tmp_path / "anim.gif", save_all=True, append_images=[blank], duration=100)
    assert torch.equal(read_grey(tmp_path / "anim.gif"), torch.from_numpy(on_paper(seven())))


# preparation as MNIST was made


def test_noisy_off_white_paper_becomes_a_background_of_exact_zeros(tmp_path):
    rng = np.random.default_rng(0)
    photo = on_paper(seven(), paper=0.85, ink_tone=0.15) + rng.normal(0, 0.04, (112, 112))
    prepared = prepare_like_mnist(torch.from_numpy(np.clip(photo, 0, 1).astype(np.float32)))
    clean = prepare_like_mnist(torch.from_numpy(on_paper(seven())))
    assert (prepared > 0).sum() <= 1.1 * (clean > 0).sum()  # no paper grain left as faint ink
    assert prepared.max() == 255


def test_the_ink_is_fitted_into_20_by_20_keeping_its_aspect_ratio():
    tall = np.zeros((200, 200), dtype=np.float32)
    tall[20:180, 90:130] = 1.0  # 160 x 40 pixels of ink
    prepared = prepare_like_mnist(torch.from_numpy(1 - tall))
    rows, columns = torch.nonzero(prepared, as_tuple=True)
    assert int(rows.max() - rows.min() + 1) == 20
    assert int(columns.max() - columns.min() + 1) == 5


def test_the_centre_of_mass_lands_at_the_centre_of_28_by_28_however_far_off_the_digit_was():
    canvas = np.zeros((280, 280), dtype=np.float32)
    canvas[10:122, 150:262] = seven()  # top right corner
    prepared = prepare_like_mnist(torch.from_numpy(1 - canvas)).float()
    mass = prepared.sum()
    centre = (
        float((prepared.sum(dim=1) * torch.arange(28)).sum() / mass),
        float((prepared.sum(dim=0) * torch.arange(28)).sum() / mass),
    )
    assert centre == pytest.approx((14.0, 14.0), abs=0.5)


def test_a_tight_crop_and_a_wide_margin_give_the_same_digit():
    rows, columns = np.nonzero(seven())
    tight = seven()[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    wide = np.zeros((448, 448), dtype=np.float32)
    wide[168:280, 168:280] = seven()
    from_tight = prepare_like_mnist(torch.from_numpy(1 - tight)).float()
    from_wide = prepare_like_mnist(torch.from_numpy(1 - wide)).float()
    # out of 255: resampling and rounding the centre differ (an uncropped margin gives ~50)
    assert (from_tight - from_wide).abs().mean() < 16


def test_ink_on_paper_and_light_on_dark_give_the_same_digit():
    assert torch.equal(
        prepare_like_mnist(torch.from_numpy(on_paper(seven()))),
        prepare_like_mnist(torch.from_numpy(seven())),
    )


def test_a_shadow_across_the_paper_is_removed():
    gradient = np.linspace(1.0, 0.6, 112, dtype=np.float32)[None, :]
    shaded = prepare_like_mnist(torch.from_numpy(gradient * on_paper(seven(), ink_tone=0.1)))
    flat = prepare_like_mnist(torch.from_numpy(on_paper(seven(), ink_tone=0.1)))
    assert (shaded.float() - flat.float()).abs().mean() < 8


@pytest.mark.parametrize(
    ("picture", "reason"),
    [
        (np.ones((112, 112), dtype=np.float32), "blank"),
        (
            np.clip(0.85 + np.random.default_rng(0).normal(0, 0.04, (112, 112)), 0, 1),
            "no ink stands out",
        ),
        (np.ones((1, 1), dtype=np.float32), "too small to hold a digit"),
    ],
    ids=["white", "noisy blank paper", "1x1"],
)
@pytest.mark.parametrize("prepare", [prepare_like_mnist, prepare_by_resizing])
def test_a_picture_without_a_digit_is_refused_not_classified(picture, reason, prepare):
    with pytest.raises(NoDigitFound, match=reason):
        prepare(torch.from_numpy(picture.astype(np.float32)))


# preprocess=resize: the older behaviour, for digits already prepared as MNIST's


def mnist_like() -> torch.Tensor:
    image = torch.zeros(28, 28, dtype=torch.uint8)
    image[6:22, 12:16] = 255  # a "1": light on dark, as in MNIST
    return image


def test_resizing_reads_an_mnist_like_28_by_28_image_unchanged():
    assert torch.equal(prepare_by_resizing(mnist_like().float() / 255), mnist_like())


def test_resizing_inverts_a_dark_on_light_drawing():
    assert torch.equal(prepare_by_resizing(1 - mnist_like().float() / 255), mnist_like())


def test_resizing_pads_a_wide_image_to_a_square_instead_of_stretching_it():
    wide = torch.zeros(28, 56)
    wide[:, 26:30] = 1.0  # a vertical bar in the middle
    resized = prepare_by_resizing(wide)
    assert resized[:7].max() < 30 and resized[21:].max() < 30  # padding above and below
    assert resized[14, 13:15].min() > 100  # the bar stays a narrow bar
