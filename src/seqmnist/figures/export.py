"""Save a run's TensorBoard figures as PNG files: `python -m seqmnist.figures.export <run folder> <out folder>`.

For reports and the README; TensorBoard itself shows the same images under IMAGES.
"""

import argparse
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import IMAGES, EventAccumulator


def export_figures(run_dir: Path, out_dir: Path) -> list[Path]:
    """Write the latest image of every image tag under `run_dir` to `out_dir/<tag>.png`."""
    events = EventAccumulator(str(run_dir), size_guidance={IMAGES: 1})
    events.Reload()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for tag in events.Tags()[IMAGES]:
        target = out_dir / f"{tag.replace('/', '_')}.png"
        target.write_bytes(events.Images(tag)[-1].encoded_image_string)
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "run_dir",
        type=Path,
        help="a run's tensorboard folder, e.g. logs/train/runs/<run>/tensorboard",
    )
    parser.add_argument("out_dir", type=Path, help="where the PNG files go")
    arguments = parser.parse_args()
    written = export_figures(arguments.run_dir, arguments.out_dir)
    if not written:
        raise SystemExit(
            f"No figures in {arguments.run_dir}: pass a run's tensorboard folder after its test."
        )
    print("\n".join(str(path) for path in written))


if __name__ == "__main__":
    main()
