"""Training batches can be randomly rotated, scaled and shifted per image; nothing else is."""

import pytest
import torch

from seqmnist.data import MNISTDataModule
from seqmnist.data.augmentation import RandomAffine
from seqmnist.errors import ConfigError


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
    assert torch.allclose(RandomAffine()(images), images.float(), atol=1e-3)


def test_each_image_gets_its_own_shift_within_the_limit():
    torch.manual_seed(0)
    moved = RandomAffine(translate=3)(blob_images(64))
    shifts = centre_of_mass(moved) - centre_of_mass(blob_images(1))
    assert shifts.abs().max() <= 3 + 1e-4
    assert len({tuple(shift.round(decimals=2).tolist()) for shift in shifts}) > 32


def test_output_keeps_shape_and_pixel_range():
    moved = RandomAffine(degrees=15, translate=2, scale=0.1)(blob_images(8))
    assert moved.shape == (8, 28, 28) and moved.dtype == torch.float32
    assert moved.min() >= 0 and moved.max() <= 255


def test_impossible_settings_are_a_config_error_with_the_fix():
    with pytest.raises(
        ConfigError, match=r"data.augmentation needs .* scale=1.5.*augmentation=null"
    ):
        RandomAffine(scale=1.5)


def test_an_unknown_augmentation_key_is_a_config_error_listing_the_keys(synthetic_mnist):
    with pytest.raises(
        ConfigError, match=r"data.augmentation=\{'rotate': 10\}.*degrees, translate"
    ):
        MNISTDataModule(data_dir=str(synthetic_mnist.root), augmentation={"rotate": 10})
