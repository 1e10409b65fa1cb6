"""Images reach the network sequence-first, one row per time step, normalised as configured."""

import torch

from seqmnist.data.sequence import images_to_rows


def images_with_numbered_rows(batch: int) -> torch.Tensor:
    """Pixel value = row index, so a time step that is a row holds one constant value."""
    return torch.arange(28, dtype=torch.uint8).view(1, 28, 1).expand(batch, 28, 28).clone()


def test_batch_becomes_time_batch_features():
    assert images_to_rows(torch.zeros(5, 28, 28, dtype=torch.uint8), 0.0, 1.0).shape == (28, 5, 28)


def test_batch_of_one_image_keeps_its_batch_dimension():
    assert images_to_rows(torch.zeros(1, 28, 28, dtype=torch.uint8), 0.0, 1.0).shape == (28, 1, 28)


def test_time_step_t_is_row_t_not_column_t():
    sequence = images_to_rows(images_with_numbered_rows(3), mean=0.0, std=1.0)
    for t in range(28):
        assert torch.allclose(sequence[t], torch.full((3, 28), t / 255.0))


def test_pixels_are_scaled_to_unit_range_then_normalised():
    images = torch.tensor([[0, 255]], dtype=torch.uint8).expand(28, 2).unsqueeze(0)
    sequence = images_to_rows(images, mean=0.5, std=0.5)
    assert sequence[0, 0].tolist() == [-1.0, 1.0]


def test_output_is_float32_and_contiguous_for_the_lstm():
    sequence = images_to_rows(images_with_numbered_rows(2), mean=0.1307, std=0.3081)
    assert sequence.dtype == torch.float32
    assert sequence.is_contiguous()
