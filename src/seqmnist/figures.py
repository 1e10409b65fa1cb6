"""Figures shared by the dashboards and predict.py."""

import matplotlib

matplotlib.use("Agg")  # files and TensorBoard only: runs happen on machines without a display
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from torch import Tensor


def reading_figure(
    images: Tensor, probabilities: Tensor, titles: list[str] | None = None
) -> Figure:
    """For each image, the class probabilities after each row read: how an RNN makes up its mind.

    `images` is `(batch, rows, columns)`; `probabilities` is `(rows, batch, classes)`.
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
    axes[-1][1].set_xlabel("rows read")
    figure.suptitle("Class probabilities after each row read")
    figure.tight_layout()
    return figure
