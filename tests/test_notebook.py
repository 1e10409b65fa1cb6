"""The walkthrough notebook runs from top to bottom, headless, as stored."""

import nbformat
import pytest
from helpers.runs import REPO_ROOT
from nbclient import NotebookClient

NOTEBOOK = REPO_ROOT / "notebooks" / "walkthrough.ipynb"


def test_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.slow
def test_notebook_executes_every_cell_without_error():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    assert all(
        output.get("output_type") != "error"
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
    figure_cells = [cell for cell in notebook.cells if "plt.show()" in cell.source]
    assert len(figure_cells) == 3  # the digit as rows, the confusion matrix, the row-by-row reading
    for cell in figure_cells:
        assert any("image/png" in output.get("data", {}) for output in cell.outputs), cell.source
