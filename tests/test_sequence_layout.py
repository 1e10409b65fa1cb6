"""Images reach the network sequence-first, read as the sequence mode documents, normalised as configured."""

import pytest
import torch

from seqmnist.data.sequence import SequenceView, pixel_permutation
from seqmnist.validation import InvalidArguments


def numbered_pixels(batch: int) -> torch.Tensor:
    """Image b has pixel value (row * 28 + column + b) % 256: every position is recognisable."""
    positions = torch.arange(784).view(1, 28, 28) + torch.arange(batch).view(batch, 1, 1)
    return (positions % 256).to(torch.uint8)


def raw(view: SequenceView, images: torch.Tensor) -> torch.Tensor:
    """The sequence in pixel units (a view with mean 0 and std 1/255 undoes the scaling)."""
    return view(images).round()


@pytest.mark.parametrize(
    ("mode", "shape"),
    [
        ("rows", (28, 5, 28)),
        ("columns", (28, 5, 28)),
        ("pixels", (784, 5, 1)),
        ("permuted", (784, 5, 1)),
    ],
)
def test_each_mode_gives_time_batch_features(mode, shape):
    assert SequenceView(mode, 0.0, 1.0)(torch.zeros(5, 28, 28, dtype=torch.uint8)).shape == shape


@pytest.mark.parametrize("mode", ["rows", "columns", "pixels", "permuted"])
def test_batch_of_one_image_keeps_its_batch_dimension(mode):
    assert SequenceView(mode, 0.0, 1.0)(torch.zeros(1, 28, 28, dtype=torch.uint8)).shape[1] == 1


def test_rows_step_t_is_row_t_not_column_t():
    images = numbered_pixels(3)
    sequence = raw(SequenceView("rows", 0.0, 1 / 255), images)
    for t in range(28):
        assert torch.equal(sequence[t], images[:, t, :].float())


def test_columns_step_t_is_column_t():
    images = numbered_pixels(3)
    sequence = raw(SequenceView("columns", 0.0, 1 / 255), images)
    for t in range(28):
        assert torch.equal(sequence[t], images[:, :, t].float())


def test_pixels_step_t_is_pixel_row_t_div_28_column_t_mod_28():
    images = numbered_pixels(2)
    sequence = raw(SequenceView("pixels", 0.0, 1 / 255), images)
    for t in (0, 1, 27, 28, 29, 400, 783):
        assert torch.equal(sequence[t, :, 0], images[:, t // 28, t % 28].float())


def test_permuted_step_t_is_the_permutations_pixel_t():
    images = numbered_pixels(2)
    view = SequenceView("permuted", 0.0, 1 / 255, permutation_seed=5)
    sequence = raw(view, images)
    order = pixel_permutation(5)
    assert sorted(order.tolist()) == list(range(784))
    for t in (0, 1, 500, 783):
        pixel = order[t].item()
        assert torch.equal(sequence[t, :, 0], images[:, pixel // 28, pixel % 28].float())


def test_permutation_depends_on_its_seed_only():
    assert torch.equal(pixel_permutation(1), pixel_permutation(1))
    assert not torch.equal(pixel_permutation(1), pixel_permutation(2))


@pytest.mark.parametrize("mode", ["rows", "columns", "pixels", "permuted"])
def test_images_are_recovered_from_their_sequence_for_figures(mode):
    view = SequenceView(mode, 0.0, 1 / 255, permutation_seed=3)
    images = numbered_pixels(2)
    assert torch.equal(view.images_of(view(images)).round(), images.float())


def test_pixels_are_scaled_to_unit_range_then_normalised():
    images = torch.tensor([[0, 255]], dtype=torch.uint8).expand(28, 2).unsqueeze(0)
    sequence = SequenceView("rows", mean=0.5, std=0.5)(images)
    assert sequence[0, 0].tolist() == [-1.0, 1.0]


def test_output_is_float32_and_contiguous_for_the_rnn():
    sequence = SequenceView("columns", mean=0.1307, std=0.3081)(numbered_pixels(2))
    assert sequence.dtype == torch.float32
    assert sequence.is_contiguous()


def test_unknown_mode_is_refused_listing_the_modes():
    with pytest.raises(
        InvalidArguments, match=r"sequence='diagonal' is invalid.*rows, columns, pixels, permuted"
    ):
        SequenceView("diagonal", 0.0, 1.0)


def halving_order(n: int) -> list[int]:
    """The S4 codebase's construction of its psMNIST order, restated: split a column of 0..N-1
    (N the next power of two) in halves side by side until it is one row, keep entries below n."""
    size = 1 << (n - 1).bit_length()
    table = [[i] for i in range(size)]
    while len(table) > 1:
        half = len(table) // 2
        table = [top + bottom for top, bottom in zip(table[:half], table[half:], strict=True)]
    return [i for i in table[0] if i < n]


def test_bit_reversal_is_the_pixel_order_s4_and_s5_read_psmnist_in():
    order = pixel_permutation("bit_reversal")
    assert order.tolist() == halving_order(784)
    assert sorted(order.tolist()) == list(range(784))
    assert order[:4].tolist() == [0, 512, 256, 768]
