"""predict.py reads the user's own images the way the model was trained to see digits."""

import pytest
import torch
from conftest import run_cli
from PIL import Image

from seqmnist.errors import DataError
from seqmnist.prediction import image_files, load_digit


def digit_like() -> torch.Tensor:
    image = torch.zeros(28, 28, dtype=torch.uint8)
    image[6:22, 12:16] = 255  # a "1": light on dark, as in MNIST
    return image


def test_light_on_dark_28_by_28_image_is_read_unchanged(tmp_path):
    Image.fromarray(digit_like().numpy()).save(tmp_path / "one.png")
    assert torch.equal(load_digit(tmp_path / "one.png"), digit_like())


def test_dark_on_light_drawing_is_inverted(tmp_path):
    Image.fromarray((255 - digit_like()).numpy()).save(tmp_path / "ink.png")
    assert torch.equal(load_digit(tmp_path / "ink.png"), digit_like())


def test_large_jpeg_is_resized_to_28_by_28_keeping_the_digit_bright(tmp_path):
    big = (
        Image.fromarray((255 - digit_like()).numpy())
        .resize((280, 280), Image.NEAREST)
        .convert("RGB")
    )
    big.save(tmp_path / "big.jpg", quality=95)
    loaded = load_digit(tmp_path / "big.jpg")
    assert loaded.shape == (28, 28)
    assert loaded[14, 13] > 200 and loaded[2, 2] < 30


def test_wide_image_is_padded_to_a_square_not_stretched(tmp_path):
    wide = torch.zeros(28, 56, dtype=torch.uint8)
    wide[:, 26:30] = 255  # a vertical bar in the middle
    Image.fromarray(wide.numpy()).save(tmp_path / "wide.png")
    loaded = load_digit(tmp_path / "wide.png")
    assert loaded[:7].max() < 30 and loaded[21:].max() < 30  # padding above and below
    assert loaded[14, 13:15].min() > 100  # the bar stays a narrow bar


def test_folder_expands_to_its_image_files(tmp_path):
    for name in ("b.png", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in image_files([str(tmp_path)])] == ["a.jpg", "b.png"]


def test_missing_path_is_reported(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        image_files([str(tmp_path / "nope.png")])


@pytest.mark.parametrize(("name", "content"), [("text.png", b"hello"), ("empty.png", b"")])
def test_file_that_is_not_an_image_exits_with_a_clear_error(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    result = run_cli(
        "predict.py",
        "ckpt_path=unused.ckpt",
        f"images={tmp_path / name}",
        root=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    assert "is not an image that can be read" in result.stderr


def test_file_that_is_not_a_checkpoint_exits_with_a_clear_error(tmp_path):
    Image.fromarray(digit_like().numpy()).save(tmp_path / "one.png")
    (tmp_path / "model.ckpt").write_bytes(b"junk")
    result = run_cli(
        "predict.py",
        f"ckpt_path={tmp_path / 'model.ckpt'}",
        f"images={tmp_path / 'one.png'}",
        root=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    assert "cannot be read as a checkpoint" in result.stderr
