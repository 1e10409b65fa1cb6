"""The DataModule splits deterministically, keeps the test set whole and yields sequence-first batches."""

import pytest
import torch

from seqmnist.data import MNISTDataModule
from seqmnist.data.batching import UnpaddedShard
from seqmnist.validation import InvalidArguments


def make_datamodule(synthetic, **overrides) -> MNISTDataModule:
    settings = {
        "data_dir": str(synthetic.root),
        "val_size": 40,
        "batch_size": 16,
        "eval_batch_size": 25,
        "checksums": synthetic.checksums,
    } | overrides
    datamodule = MNISTDataModule(**settings)
    datamodule.prepare_data()
    datamodule.setup()
    return datamodule


def test_split_sizes_follow_val_size_and_test_set_is_whole(synthetic_mnist):
    datamodule = make_datamodule(synthetic_mnist, val_size=40)
    assert len(datamodule.data_val) == 40
    assert len(datamodule.data_train) == synthetic_mnist.train_size - 40
    assert len(datamodule.data_test) == synthetic_mnist.test_size


def test_split_is_the_same_for_the_same_split_seed_and_differs_for_another(synthetic_mnist):
    first = make_datamodule(synthetic_mnist, split_seed=3).data_val.images
    again = make_datamodule(synthetic_mnist, split_seed=3).data_val.images
    other = make_datamodule(synthetic_mnist, split_seed=4).data_val.images
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_train_and_val_are_disjoint_and_cover_the_training_file(synthetic_mnist):
    datamodule = make_datamodule(synthetic_mnist)
    # every synthetic image is distinct (random background), so rows identify samples
    keys = lambda images: {bytes(image.flatten().tolist()) for image in images}  # noqa: E731
    train, val = keys(datamodule.data_train.images), keys(datamodule.data_val.images)
    assert not train & val
    assert len(train | val) == synthetic_mnist.train_size


def test_test_loader_visits_every_test_image_once_in_file_order(synthetic_mnist):
    datamodule = make_datamodule(synthetic_mnist, eval_batch_size=7)
    labels = torch.cat([batch[1] for batch in datamodule.test_dataloader()])
    assert labels.tolist() == [i % 10 for i in range(synthetic_mnist.test_size)]


def test_batches_reach_the_model_as_rows_by_batch_by_columns(synthetic_mnist):
    datamodule = make_datamodule(synthetic_mnist, batch_size=16)
    images, labels = next(iter(datamodule.train_dataloader()))
    sequence, same_labels = datamodule.on_after_batch_transfer((images, labels), 0)
    assert images.dtype == torch.uint8 and images.shape == (16, 28, 28)
    assert sequence.shape == (28, 16, 28)
    assert torch.equal(same_labels, labels)
    # the synthetic label is a bright row: it shows up as one bright time step
    bright_step = sequence[:, 0, :].mean(dim=1).argmax().item()
    assert bright_step == 2 * labels[0].item() + 4


def test_batch_of_one_image_keeps_its_batch_dimension(synthetic_mnist):
    datamodule = make_datamodule(synthetic_mnist, batch_size=1)
    images, labels = next(iter(datamodule.train_dataloader()))
    sequence, _ = datamodule.on_after_batch_transfer((images, labels), 0)
    assert sequence.shape == (28, 1, 28)
    assert labels.shape == (1,)


def test_val_size_larger_than_the_training_file_is_refused_naming_the_file_size(synthetic_mnist):
    with pytest.raises(
        InvalidArguments,
        match=r"val_size=500 is invalid \(allowed: less than the 240 training images",
    ):
        make_datamodule(synthetic_mnist, val_size=500)


@pytest.mark.parametrize(
    ("dataset", "first", "last"),
    [("mnist", "0 - zero", "9 - nine"), ("fashion_mnist", "T-shirt/top", "Ankle boot")],
)
def test_class_names_label_the_ten_classes_for_the_confusion_matrix(dataset, first, last):
    names = MNISTDataModule(data_dir="unused", dataset=dataset).class_names
    assert (len(names), names[0], names[-1]) == (10, first, last)


@pytest.mark.parametrize("size", [60, 61])
def test_evaluation_shards_cover_every_image_once_without_padding(size):
    shards = [list(UnpaddedShard(range(size), num_replicas=2, rank=rank)) for rank in (0, 1)]
    assert sorted(shards[0] + shards[1]) == list(range(size))
    assert [len(shard) for shard in shards] == [
        len(UnpaddedShard(range(size), num_replicas=2, rank=rank)) for rank in (0, 1)
    ]
