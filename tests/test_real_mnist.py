"""Claims about real MNIST, on the real files (fetched once into the repository's data folder)."""

import re

import pytest
import torch
from helpers.runs import REAL_DATA_DIR, REPO_ROOT, printed_metric, run_cli, run_python_script
from helpers.synthetic import file_md5
from PIL import Image
from torchvision.datasets import MNIST

from seqmnist.config.build import load_trained
from seqmnist.data.datamodule import MNISTDataModule
from seqmnist.data.datasets import MNIST_RECORD
from seqmnist.data.sources import prepare_dataset

pytestmark = pytest.mark.slow


def test_prepared_files_are_the_official_mnist_files():
    prepare_dataset(REAL_DATA_DIR)
    for name, raw in MNIST_RECORD.files.items():
        assert file_md5(MNIST_RECORD.raw_folder(REAL_DATA_DIR) / name) == raw.md5


def test_default_split_is_55k_train_5k_val_and_the_official_10k_test():
    datamodule = MNISTDataModule(data_dir=str(REAL_DATA_DIR))
    datamodule.prepare_data()
    datamodule.setup()
    sizes = (len(datamodule.data_train), len(datamodule.data_val), len(datamodule.data_test))
    assert sizes == (55_000, 5_000, 10_000)


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory):
    """One epoch of the default recipe on real MNIST, shared by the tests below, without its
    weight average (which lags about 1,000 steps, more than an epoch)."""
    root = tmp_path_factory.mktemp("real")
    overrides = [
        "trainer=cpu",
        "callbacks=default",
        "trainer.max_epochs=1",
        f"paths.data_dir={REAL_DATA_DIR}",
        "logger=none",
    ]
    result = run_cli("train.py", *overrides, root=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, result


def test_one_epoch_of_the_default_recipe_reaches_95_percent_on_the_full_test_set(one_epoch_run):
    assert printed_metric(one_epoch_run[1].stdout, "test/acc") >= 0.95


def test_predict_resize_classifies_inverted_resized_test_digits_as_the_model_does_the_originals(
    one_epoch_run,
):
    root = one_epoch_run[0]
    checkpoint = next(root.glob("logs/train/runs/*/checkpoints/epoch_*.ckpt"))
    test = MNIST(str(REAL_DATA_DIR), train=False)
    originals, paths = test.data[:20], []
    for index, image in enumerate(originals):
        path = root / f"drawn_{index}.png"
        Image.fromarray((255 - image).numpy()).resize((84, 84), Image.BILINEAR).save(
            path
        )  # ink on paper
        paths.append(path)

    trained = load_trained(checkpoint)
    net, view = trained.module.net, trained.view
    with torch.no_grad():
        expected = net(view(originals)).argmax(dim=-1)

    result = run_cli(
        "predict.py",
        f"ckpt_path={checkpoint}",
        f"images=[{','.join(map(str, paths))}]",
        "preprocess=resize",
        root=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    predicted = {
        int(m.group(1)): int(m.group(2))
        for m in re.finditer(r"drawn_(\d+)\.png\s*│\s*(\d)\s*│", result.stdout)
    }
    assert predicted == {index: int(label) for index, label in enumerate(expected)}


def test_predict_reads_digits_made_the_ways_people_make_them_as_well_as_the_test_set(
    one_epoch_run, tmp_path
):
    """The robustness benchmark in miniature: every photo or scan rendering within 2 points of the
    plain test tensors (low-resolution upscaling excepted: its detail is gone), through predict's
    code."""
    checkpoint = next(one_epoch_run[0].glob("logs/train/runs/*/checkpoints/epoch_*.ckpt"))
    script = REPO_ROOT / "benchmarks" / "predict_robustness.py"
    arguments = [
        "--ckpt",
        checkpoint,
        "--count",
        300,
        "--data-dir",
        REAL_DATA_DIR,
        "--out",
        tmp_path,
    ]
    result = run_python_script(script, *map(str, arguments))
    assert result.returncode == 0, result.stderr[-3000:]
    accuracy = {
        row[0]: float(row[2].split("%")[0])
        for row in (
            [cell.strip() for cell in line.strip("|").split("|")]
            for line in (tmp_path / "predict_robustness.md").read_text().splitlines()
            if line.startswith("| ") and "%" in line
        )
    }
    plain = accuracy.pop("plain tensors")
    del accuracy["mean of the renderings"]
    assert plain >= 90
    del accuracy["low_resolution"]
    assert len(accuracy) == 14
    # a marker, a fine pen, leaning writing and a blurred photo change the digit itself, which a
    # network trained for one epoch on undistorted digits reads less well, but still reads
    for name in ("thick_pen", "thin_pen", "slanted", "out_of_focus"):
        assert accuracy.pop(name) >= plain - 15, name
    assert {name: value for name, value in accuracy.items() if value < plain - 2} == {}
