"""docs/extending.md: a network is its module and its YAML, a dataset its record and its YAML;
nothing else in the package names a concrete network or MNIST's files."""

import re
from pathlib import Path

import pytest
from helpers.extending import SYNTHETIC_DIGITS
from helpers.runs import REPO_ROOT, SMALL_BATCHES, printed_metric, run_cli
from helpers.synthetic import save_digit, write_synthetic_mnist

from seqmnist.models import LMUClassifier, RecurrentClassifier, S4DClassifier, SequenceNet

NETWORK_YAML = """\
_target_: helpers.extending.MeanPoolNet
input_size: ${features_per_step:${data.sequence}}
num_classes: 10
width: 16
"""
DATASET_YAML = """\
defaults:
  - mnist
  - _self_

dataset: helpers.extending:SYNTHETIC_DIGITS
val_size: 40
mean: 0.1
std: 0.3
"""


@pytest.fixture
def configs(tmp_path: Path) -> list[str]:
    """The two YAML files a user adds, in a config folder of their own on Hydra's search path."""
    folder = tmp_path / "my_configs"
    (folder / "model").mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "model" / "meanpool.yaml").write_text(NETWORK_YAML)
    (folder / "data" / "synthetic_digits.yaml").write_text(DATASET_YAML)
    return [f"hydra.searchpath=[file://{folder}]"]


def test_a_network_of_its_own_trains_evaluates_and_predicts_with_its_reading_figure(
    tmp_path, configs, synthetic_mnist
):
    run = [*SMALL_BATCHES, *configs, "model=meanpool", *synthetic_mnist.overrides(), "logger=none"]
    trained = run_cli("train.py", *run, "trainer.max_epochs=2", root=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert 0 < printed_metric(trained.stdout, "test/acc") <= 1
    (best,) = tmp_path.glob("logs/train/runs/*/checkpoints/epoch_*.ckpt")
    evaluated = run_cli(
        "eval.py", f"ckpt_path={best}", f"paths.data_dir={synthetic_mnist.root}", root=tmp_path
    )
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert printed_metric(evaluated.stdout, "test/acc") == printed_metric(
        trained.stdout, "test/acc"
    )
    save_digit(tmp_path / "one.png")
    predicted = run_cli(
        "predict.py", f"ckpt_path={best}", f"images=[{tmp_path / 'one.png'}]", "figure=true",
        root=tmp_path,
    )  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert list(tmp_path.glob("logs/predict/runs/*/reading_row_by_row.png"))


def test_the_memory_check_names_the_networks_own_size_settings(tmp_path, configs):
    refused = run_cli(
        "train.py", *configs, "model=meanpool", "model.width=4000000000", root=tmp_path
    )
    assert refused.returncode == 2
    assert "model.width=4000000000 makes a network of" in refused.stderr
    assert "Choose a smaller model.width." in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_search_of_a_network_without_a_space_file_is_refused_naming_the_file(tmp_path, configs):
    refused = run_cli(
        "train.py", "-m", "hparams_search=optuna", *configs, "model=meanpool", root=tmp_path
    )
    assert refused.returncode == 2
    assert "configs/hparams_search/space/optuna_meanpool.yaml" in refused.stderr
    assert not list(tmp_path.glob("logs/train/multiruns/*/*/result.json"))


def test_a_dataset_of_its_own_trains_from_its_record(tmp_path, configs):
    write_synthetic_mnist(tmp_path / "data", dataset=SYNTHETIC_DIGITS)
    trained = run_cli(
        "train.py", *SMALL_BATCHES, *configs, "data=synthetic_digits", "model.hidden=8",
        f"data.data_dir={tmp_path / 'data'}", "logger=none", "trainer.max_epochs=1", root=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "the full official Synthetic digits test set, 60 images" in trained.stdout


def test_a_dataset_of_its_own_is_checked_by_its_own_sizes(tmp_path, configs):
    refused = run_cli(
        "train.py", *configs, "data=synthetic_digits", "data.val_size=240", root=tmp_path
    )
    assert refused.returncode == 2
    assert "data.val_size=240 is invalid (allowed: an integer between 1 and 239)" in refused.stderr


def test_a_dataset_of_its_own_refuses_a_file_of_the_wrong_size(tmp_path, configs):
    data = tmp_path / "data"
    write_synthetic_mnist(data, dataset=SYNTHETIC_DIGITS)
    labels = SYNTHETIC_DIGITS.raw_folder(data) / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1])
    refused = run_cli(
        "train.py", *configs, "data=synthetic_digits", f"data.data_dir={data}", root=tmp_path
    )
    assert refused.returncode == 2
    assert "Could not get Synthetic digits" in refused.stderr
    assert "Damaged files were kept as t10k-labels-idx1-ubyte.corrupt" in refused.stderr


# what only models/ may name: the concrete networks and the settings only they take
CONCRETE_NETWORKS = [RecurrentClassifier, S4DClassifier, LMUClassifier]
NETWORK_WORDS = {cls.__name__ for cls in CONCRETE_NETWORKS} | {
    f"model.{name}" for cls in CONCRETE_NETWORKS for name in cls.size_settings
}
# MNIST's raw files stand in its record (the offline wheel converts MNIST alone, so it names them)
MNIST_FACTS = ("idx3-ubyte", "idx1-ubyte", "60_000", "60000", "6bbc9ace898e44ae57da46a324031adb")
PACKAGE = REPO_ROOT / "src" / "seqmnist"


def sources_outside(*folders: str) -> dict[Path, str]:
    return {
        path: path.read_text()
        for path in PACKAGE.rglob("*.py")
        if not any(path.is_relative_to(PACKAGE / folder) for folder in folders)
    }


def test_no_module_outside_models_names_a_concrete_network_or_its_settings():
    found = {
        f"{path.relative_to(PACKAGE)}: {word}"
        for path, text in sources_outside("models").items()
        for word in NETWORK_WORDS
        if re.search(rf"\b{re.escape(word)}\b", text)
    }
    assert not found


def test_mnists_files_and_sizes_stand_in_its_record_only():
    records = PACKAGE / "data" / "datasets.py"
    outside = sources_outside("data/datasets.py", "data/offline_wheel.py")
    found = {
        f"{path.relative_to(PACKAGE)}: {fact}"
        for path, text in outside.items()
        for fact in MNIST_FACTS
        if fact in text
    }
    assert not found
    assert all(
        fact in records.read_text() for fact in ("60_000", "6bbc9ace898e44ae57da46a324031adb")
    )


def test_every_network_of_the_package_keeps_the_contract():
    for cls in CONCRETE_NETWORKS:
        assert issubclass(cls, SequenceNet) and cls.size_settings
