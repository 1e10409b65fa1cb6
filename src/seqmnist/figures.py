"""Figures shared by the dashboards and predict.py."""

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from torch import Tensor


def reading_figure(
    images: Tensor, probabilities: Tensor, titles: list[str] | None = None, step_name: str = "row"
) -> Figure:
    """For each image, the class probabilities after each step read: how an RNN makes up its mind.

    `images` is `(batch, height, width)`; `probabilities` is `(steps, batch, classes)`; a step is
    a row, a column or a pixel (`step_name`).
    """
    count = images.shape[0]
    figure, axes = plt.subplots(
        count, 2, figsize=(8, 2.2 * count), squeeze=False, width_ratios=[1, 3]
    )
    steps = range(1, probabilities.shape[0] + 1)
    for example in range(count):
        image_axis, curve_axis = axes[example]
        image_axis.imshow(images[example].float().cpu().numpy(), cmap="gray")
        image_axis.axis("off")
        if titles:
            image_axis.set_title(titles[example], fontsize=8)
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
