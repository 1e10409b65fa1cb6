"""Figures shared by the dashboards and predict.py."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from torch import Tensor


def reading_figure(
    images: Tensor,
    probabilities: Tensor,
    titles: list[str] | None = None,
    step_name: str = "row",
    originals: list[Tensor] | None = None,
) -> Figure:
    """For each image, the class probabilities after each step read: how an RNN makes up its mind.

    `images` is `(batch, height, width)`, what the network read; `probabilities` is
    `(steps, batch, classes)`; a step is a row, a column or a pixel (`step_name`). `originals`, the
    pictures the images were prepared from, are shown before them, so a bad preparation shows.
    """
    count = images.shape[0]
    ratios = [1, 1, 3] if originals else [1, 3]
    figure, axes = plt.subplots(
        count,
        len(ratios),
        figsize=(2 * len(ratios) + 4, 2.2 * count),
        squeeze=False,
        width_ratios=ratios,
    )
    steps = range(1, probabilities.shape[0] + 1)
    for example in range(count):
        *image_axes, curve_axis = axes[example]
        shown = [originals[example], images[example]] if originals else [images[example]]
        for image_axis, image in zip(image_axes, shown, strict=True):
            image_axis.imshow(image.float().cpu().numpy(), cmap="gray")
            image_axis.axis("off")
        if titles:
            image_axes[0].set_title(titles[example], fontsize=8)
        if originals:
            image_axes[1].set_title("as the network read it", fontsize=8)
        final = int(probabilities[-1, example].argmax())
        for digit in range(probabilities.shape[-1]):
            emphasis = (
                {"linewidth": 2.5, "label": f"class {digit}"} if digit == final else {"alpha": 0.3}
            )
            curve_axis.plot(steps, probabilities[:, example, digit].cpu(), **emphasis)
        curve_axis.set_ylim(0, 1)
        curve_axis.set_ylabel("probability")
        curve_axis.legend(loc="upper left", fontsize=7)
    axes[-1][1].set_xlabel(f"{step_name}s read")
    figure.suptitle(f"Class probabilities after each {step_name} read")
    figure.tight_layout()
    return figure


def reading_tag(step_name: str) -> str:
    """Name of the reading figure: reading_row_by_row, reading_pixel_by_pixel, ..."""
    return f"reading_{step_name}_by_{step_name}"
