"""Training batches can be randomly rotated, scaled, sheared, shifted, thickened, thinned and
blurred per image; nothing else is."""

import pytest
import torch
from lightning.pytorch import Callback, Trainer

from seqmnist.data import MNISTDataModule
from seqmnist.data.augmentation import RandomDistortion
from seqmnist.data.epochs import epoch_order
from seqmnist.models import RecurrentClassifier, SequenceClassifierModule
from seqmnist.validation import InvalidArguments


def blob_images(batch: int) -> torch.Tensor:
    images = torch.zeros(batch, 28, 28, dtype=torch.uint8)
    images[:, 12:16, 12:16] = 255
    return images


def centre_of_mass(images: torch.Tensor) -> torch.Tensor:
    weights = images.float()
    coordinates = torch.arange(28, dtype=torch.float32)
    rows = (weights.sum(dim=2) * coordinates).sum(dim=1) / weights.sum(dim=(1, 2))
    columns = (weights.sum(dim=1) * coordinates).sum(dim=1) / weights.sum(dim=(1, 2))
    return torch.stack([rows, columns], dim=1)


def test_no_rotation_scaling_or_shift_leaves_images_unchanged():
    images = torch.randint(0, 256, (4, 28, 28), dtype=torch.uint8)
    assert torch.allclose(RandomDistortion()(images), images.float(), atol=1e-3)


def test_each_image_gets_its_own_shift_within_the_limit():
    torch.manual_seed(0)
    moved = RandomDistortion(translate=3)(blob_images(64))
    shifts = centre_of_mass(moved) - centre_of_mass(blob_images(1))
    assert shifts.abs().max() <= 3 + 1e-4
    assert len({tuple(shift.round(decimals=2).tolist()) for shift in shifts}) > 32


def test_output_keeps_shape_and_pixel_range():
    moved = RandomDistortion(degrees=15, translate=2, scale=0.1)(blob_images(8))
    assert moved.shape == (8, 28, 28) and moved.dtype == torch.float32
    assert moved.min() >= 0 and moved.max() <= 255


def test_impossible_settings_are_refused_naming_each_one():
    with pytest.raises(
        InvalidArguments, match=r"scale=1.5 is invalid \(allowed: a number in \[0, 1\)\)"
    ):
        RandomDistortion(scale=1.5)


def test_an_unknown_augmentation_key_is_refused_listing_the_keys(synthetic_mnist):
    with pytest.raises(
        InvalidArguments, match=r"augmentation=\{'rotate': 10\} is invalid.*degrees >= 0, translate"
    ):
        MNISTDataModule(data_dir=str(synthetic_mnist.root), augmentation={"rotate": 10})


def line_images(batch: int, side: int = 65) -> torch.Tensor:
    """A bright horizontal bar through the centre: its measured angle is the rotation."""
    images = torch.zeros(batch, side, side, dtype=torch.uint8)
    images[:, side // 2 - 1 : side // 2 + 2, 8:-8] = 255
    return images


def measured_angles_degrees(images: torch.Tensor) -> torch.Tensor:
    """Orientation of each image's bright pixels, from their second moments."""
    side = images.shape[-1]
    rows, columns = torch.meshgrid(
        torch.arange(float(side)), torch.arange(float(side)), indexing="ij"
    )
    weights = images.float() / images.float().sum(dim=(1, 2), keepdim=True)
    mean_row, mean_column = (weights * rows).sum((1, 2)), (weights * columns).sum((1, 2))
    dr, dc = rows - mean_row.view(-1, 1, 1), columns - mean_column.view(-1, 1, 1)
    mu20, mu02, mu11 = (
        (weights * dc**2).sum((1, 2)),
        (weights * dr**2).sum((1, 2)),
        (weights * dr * dc).sum((1, 2)),
    )
    return torch.rad2deg(0.5 * torch.atan2(2 * mu11, mu20 - mu02))


def test_rotations_stay_within_the_degrees_and_use_their_range():
    torch.manual_seed(0)
    angles = measured_angles_degrees(RandomDistortion(degrees=10)(line_images(400))).abs()
    assert angles.max() <= 10.5
    assert angles.max() >= 9 and angles.min() <= 1


def test_scalings_stay_within_the_scale_and_use_their_range():
    torch.manual_seed(0)
    squares = torch.zeros(400, 65, 65, dtype=torch.uint8)
    squares[:, 20:45, 20:45] = 255
    # the ink's area grows with the square of the scale
    zoom = (RandomDistortion(scale=0.1)(squares).sum(dim=(1, 2)) / squares[0].float().sum()).sqrt()
    assert zoom.min() >= 0.9 - 0.01 and zoom.max() <= 1.1 + 0.01
    assert zoom.min() <= 0.92 and zoom.max() >= 1.08


def vertical_bars(batch: int, side: int = 65) -> torch.Tensor:
    images = torch.zeros(batch, side, side, dtype=torch.uint8)
    images[:, 8:-8, side // 2 - 1 : side // 2 + 2] = 255
    return images


def test_shears_slant_vertical_strokes_within_the_shear_angle():
    torch.manual_seed(0)
    slanted = RandomDistortion(shear=20)(vertical_bars(400))
    # a vertical bar measures +-90 degrees; its slant is the distance from vertical
    slant = 90 - measured_angles_degrees(slanted).abs()
    assert slant.max() <= 20.5
    assert slant.max() >= 17 and slant.min() <= 2


def test_stroke_thickens_by_up_to_its_pixels_and_thins_by_up_to_half():
    torch.manual_seed(0)
    bars = vertical_bars(400)  # 3 pixels wide
    # across the middle row, in pixels of full ink
    width = RandomDistortion(stroke=2)(bars)[:, 32].sum(dim=1) / 255
    # dilation and erosion grow or shrink a bar by one pixel on each side per pixel of change
    assert width.max() <= 3 + 2 * 2 + 0.1 and width.min() >= 3 - 2 * 1 - 0.1
    assert width.max() >= 6.5 and width.min() <= 1.5


def test_blur_spreads_ink_without_losing_it():
    torch.manual_seed(0)
    blurred = RandomDistortion(blur=1.5)(blob_images(64))
    assert torch.allclose(blurred.sum(dim=(1, 2)), blob_images(1).float().sum(), rtol=1e-4)
    peaks = blurred.amax(dim=(1, 2))
    assert peaks.min() < 200 and peaks.max() > 250  # from nearly untouched to strongly blurred


class FirstBatches(Callback):
    """Keeps the first batch each stage hands the model, as the model receives it."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def _keep(self, stage: str, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
        self.seen.setdefault(stage, (batch[0].clone(), batch[1].clone()))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._keep("train", batch)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        if not trainer.sanity_checking:
            self._keep("val", batch)

    def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self._keep("test", batch)


def test_under_a_trainer_only_training_batches_are_augmented(synthetic_mnist):
    datamodule = MNISTDataModule(
        data_dir=str(synthetic_mnist.root),
        checksums=synthetic_mnist.checksums,
        val_size=40,
        batch_size=16,
        eval_batch_size=20,
        shuffle_seed=0,
        augmentation={"degrees": 10, "translate": 2, "scale": 0.1},
    )
    module = SequenceClassifierModule(RecurrentClassifier(hidden=8, layers=1), torch.optim.SGD)
    recorder = FirstBatches()
    trainer = Trainer(
        accelerator="cpu",
        max_epochs=1,
        limit_train_batches=1,
        limit_val_batches=1,
        limit_test_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[recorder],
    )
    trainer.fit(module, datamodule=datamodule)
    trainer.test(module, datamodule=datamodule)
    view = datamodule.sequence_view

    first = torch.tensor(list(epoch_order(len(datamodule.data_train), seed=0)))[:16]
    sequence, labels = recorder.seen["train"]
    assert torch.equal(labels, datamodule.data_train.labels[first])  # the same images ...
    unaugmented = view(datamodule.data_train.images[first])
    assert (sequence - unaugmented).abs().amax(dim=(0, 2)).min() > 0.1  # ... each one moved
    for stage, dataset in (("val", datamodule.data_val), ("test", datamodule.data_test)):
        sequence, labels = recorder.seen[stage]
        assert torch.equal(sequence, view(dataset.images[:20]))
        assert torch.equal(labels, dataset.labels[:20])
