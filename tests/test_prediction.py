"""predict.py classifies the user's own image files: which files, what it refuses, what it writes.

How a file becomes a 28x28 digit is specified in test_user_images.py.
"""

import csv

import pytest
from helpers.runs import TINY_RUN, only_run, run_cli
from helpers.synthetic import save_digit, write_synthetic_mnist
from PIL import Image

from seqmnist.errors import DataError
from seqmnist.prediction import image_files


def run_predict(root, checkpoint, images, *overrides: str):
    """`python predict.py ckpt_path=<checkpoint> images=<images> overrides...` with logs under root."""
    return run_cli(
        "predict.py",
        f"ckpt_path={checkpoint}",
        f"images={images}",
        *overrides,
        root=root,
        timeout=300,
    )


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A checkpoint of a tiny run on synthetic digits: enough to test what predict writes."""
    root = tmp_path_factory.mktemp("trained")
    data = write_synthetic_mnist(root / "data")
    trained = run_cli("train.py", *TINY_RUN, *data.overrides(), root=root)
    assert trained.returncode == 0, trained.stderr[-2000:]
    return only_run(root) / "checkpoints" / "last.ckpt"


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
    result = run_predict(tmp_path, "unused.ckpt", tmp_path / name)
    assert result.returncode == 2
    assert f"{tmp_path / name}: not an image that can be read" in result.stderr


def test_file_that_is_not_a_checkpoint_exits_with_a_clear_error(tmp_path):
    save_digit(tmp_path / "one.png")
    (tmp_path / "model.ckpt").write_bytes(b"junk")
    result = run_predict(tmp_path, tmp_path / "model.ckpt", tmp_path / "one.png")
    assert result.returncode == 2
    assert "cannot be read as a checkpoint" in result.stderr


def test_every_unreadable_or_blank_file_of_a_folder_is_listed_at_once(tmp_path):
    folder = tmp_path / "digits"
    folder.mkdir()
    save_digit(folder / "a_good.png")
    Image.new("L", (56, 56), 255).save(folder / "b_blank.png")
    (folder / "c_broken.jpg").write_bytes(b"not a jpeg")
    result = run_predict(tmp_path, "unused.ckpt", folder)
    assert result.returncode == 2
    assert "2 of 3 images cannot be classified" in result.stderr
    assert f"{folder / 'b_blank.png'}: it looks blank" in result.stderr
    assert f"{folder / 'c_broken.jpg'}: not an image that can be read" in result.stderr
    assert "on_error=skip" in result.stderr


def test_on_error_skip_classifies_the_rest_and_writes_predictions_csv(tmp_path, checkpoint):
    folder = tmp_path / "digits"
    folder.mkdir()
    save_digit(folder / "a_good.png")
    save_digit(folder / "b_good.png")
    Image.new("L", (1, 1), 0).save(folder / "c_tiny.png")
    result = run_predict(tmp_path, checkpoint, folder, "on_error=skip")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "c_tiny.png: 1x1 pixels is too small to hold a digit" in result.stdout
    with (only_run(tmp_path, "predict") / "predictions.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert [row["file"] for row in rows] == [str(folder / "a_good.png"), str(folder / "b_good.png")]
    for row in rows:
        probabilities = [float(row[f"p{digit}"]) for digit in range(10)]
        assert sum(probabilities) == pytest.approx(1, abs=1e-4)
        assert int(row["class"]) == probabilities.index(max(probabilities))
        assert float(row["probability"]) == pytest.approx(max(probabilities), abs=1e-6)


def test_the_figure_shows_each_picture_next_to_what_the_network_read(tmp_path, checkpoint):
    save_digit(tmp_path / "one.png")
    result = run_predict(tmp_path, checkpoint, tmp_path / "one.png", "figure=true")
    assert result.returncode == 0, result.stderr[-2000:]
    figure = Image.open(only_run(tmp_path, "predict") / "reading_row_by_row.png")
    assert figure.width > figure.height  # picture, prepared digit and curves side by side


@pytest.mark.parametrize(
    ("override", "named"), [("preprocess=crop", "preprocess=crop"), ("on_error=ignore", "on_error")]
)
def test_an_unknown_option_names_the_ones_there_are(tmp_path, override, named):
    save_digit(tmp_path / "one.png")
    result = run_predict(tmp_path, "unused.ckpt", tmp_path / "one.png", override)
    assert result.returncode == 2
    assert named in result.stderr and "Use" in result.stderr
