"""python export.py: the network as ONNX or a torch.export program with its preprocessing contract,
giving the checkpoint's predictions to 1e-4 on real test digits (LSTM, GRU, S4D, LMU); a network
ONNX cannot express is refused by name."""

import json

import numpy as np
import onnxruntime
import pytest
import torch
from helpers.runs import QUICK, QUICK_LMU, QUICK_S4D, REAL_DATA_DIR, SMALL_BATCHES, run_cli
from torchvision.datasets import MNIST

from seqmnist.config.build import load_trained
from seqmnist.data.sequence import SequenceView
from seqmnist.exporting import reading_order

NETWORKS = {
    "lstm": [*QUICK, "data.sequence=rows"],
    "gru": [*QUICK, "model.cell=gru", "data.sequence=columns"],
    "s4d": [*QUICK_S4D, "data.sequence=rows"],
    "lmu": [*QUICK_LMU, "data.sequence=permuted"],
}
# a network with complex arithmetic (tests/helpers/unexportable.py), which ONNX has no operators for
PHASE_NET_YAML = """\
_target_: helpers.unexportable.PhaseNet
input_size: ${features_per_step:${data.sequence}}
num_classes: 10
"""


def trained_checkpoint(root, synthetic_mnist, network: str):
    run = [*NETWORKS[network], *synthetic_mnist.overrides(), "logger=none", "trainer.max_epochs=1"]
    trained = run_cli("train.py", *run, "+trainer.limit_train_batches=2", root=root)
    assert trained.returncode == 0, trained.stderr[-3000:]
    (checkpoint,) = root.glob("logs/train/runs/*/checkpoints/last.ckpt")
    return checkpoint


def exported(root, checkpoint, format_: str):
    result = run_cli("export.py", f"ckpt_path={checkpoint}", f"format={format_}", root=root)
    return result, next(root.glob("logs/export/runs/*"), None)


def first_test_digits(count: int = 200) -> torch.Tensor:
    return MNIST(str(REAL_DATA_DIR), train=False).data[:count]


@pytest.mark.slow  # real test digits
@pytest.mark.parametrize(
    ("network", "format_"),
    [("lstm", "onnx"), ("gru", "onnx"), ("s4d", "onnx"), ("lmu", "onnx"), ("lstm", "pt2"),
     ("gru", "pt2"), ("s4d", "pt2"), ("lmu", "pt2")],
)  # fmt: skip
def test_an_export_fed_by_its_contract_gives_the_checkpoints_answers_on_200_test_digits(
    tmp_path, synthetic_mnist, real_mnist, network, format_
):
    checkpoint = trained_checkpoint(tmp_path, synthetic_mnist, network)
    result, folder = exported(tmp_path, checkpoint, format_)
    assert result.returncode == 0, result.stderr[-3000:]
    contract = json.loads((folder / "model.json").read_text())
    images = first_test_digits()
    # the contract alone, as a caller without seqmnist would use it
    x = (images.numpy().astype("float32") / 255 - contract["mean"]) / contract["std"]
    sequence = x.reshape(len(x), -1)[:, contract["order"]]
    sequence = sequence.reshape(len(x), contract["steps"], contract["features"]).transpose(1, 0, 2)
    if format_ == "onnx":
        session = onnxruntime.InferenceSession(str(folder / contract["file"]))
        logits = torch.from_numpy(
            session.run(None, {"sequence": np.ascontiguousarray(sequence)})[0]
        )
    else:
        program = torch.export.load(folder / contract["file"]).module()
        logits = program(torch.from_numpy(np.ascontiguousarray(sequence)))
    trained = load_trained(checkpoint)
    with torch.no_grad():
        expected = trained.module.net(trained.view(images))
    assert torch.allclose(logits, expected, atol=1e-4)
    assert torch.equal(logits.argmax(-1), expected.argmax(-1))


def test_a_network_onnx_cannot_express_is_refused_by_name_and_nothing_is_written(
    tmp_path, synthetic_mnist
):
    configs = tmp_path / "my_configs" / "model"
    configs.mkdir(parents=True)
    (configs / "phase.yaml").write_text(PHASE_NET_YAML)
    run = [*SMALL_BATCHES, "model=phase", f"hydra.searchpath=[file://{configs.parent}]"]
    trained = run_cli(
        "train.py", *run, *synthetic_mnist.overrides(), "logger=none", "trainer.max_epochs=1",
        "+trainer.limit_train_batches=2", root=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    (checkpoint,) = tmp_path.glob("logs/train/runs/*/checkpoints/last.ckpt")
    result, folder = exported(tmp_path, checkpoint, "onnx")
    assert result.returncode == 2
    assert "PhaseNet cannot be written as ONNX" in result.stderr
    assert "format=pt2" in result.stderr and "Traceback" not in result.stderr
    assert not list(folder.glob("model.*"))


@pytest.mark.parametrize("mode", ["rows", "columns", "pixels", "permuted"])
def test_the_reading_order_rebuilds_the_sequence_of_every_mode(mode):
    view = SequenceView(mode, 0.1, 0.3, 3)
    images = torch.randint(0, 256, (2, 28, 28), dtype=torch.uint8)
    expected = view(images)
    x = (images.float() / 255 - 0.1) / 0.3
    rebuilt = x.flatten(1)[:, reading_order(view)].view(2, len(expected), -1).transpose(0, 1)
    assert torch.allclose(rebuilt, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("override", "said"),
    [("format=tflite", "format=tflite is not an export format"),
     ("ckpt_path=/nowhere/x.ckpt", "No checkpoint file at /nowhere/x.ckpt")],
)  # fmt: skip
def test_a_bad_format_or_checkpoint_gets_one_clear_message(tmp_path, override, said):
    arguments = ["ckpt_path=/nowhere/x.ckpt", override]
    result = run_cli("export.py", *arguments, root=tmp_path)
    assert result.returncode == 2
    assert said in result.stderr and "Traceback" not in result.stderr
