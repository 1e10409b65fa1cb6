"""FLOP counts of the recurrent layers, as Lightning's model summary reports them."""

import pytest
import torch
from helpers.runs import compose_train
from hydra.utils import instantiate
from lightning.pytorch.utilities import measure_flops
from lightning.pytorch.utilities.model_summary import ModelSummary, get_human_readable_count

from seqmnist.config.build import build_module
from seqmnist.data import MNISTDataModule
from seqmnist.models import RecurrentClassifier, SequenceClassifierModule
from seqmnist.models.flops import cudnn_rnn_flops, register_flop_formulas


@pytest.fixture(autouse=True)
def flop_formulas() -> None:
    # what the LightningModule's setup does in a Trainer; these tests count FLOPs without one
    register_flop_formulas()


def counted_flops(net: torch.nn.Module, sequence: torch.Tensor, fused: bool) -> int:
    """FLOPs torch's counter sees for one forward pass, with oneDNN's fused LSTM on or off."""
    with torch.backends.mkldnn.flags(enabled=fused), torch.no_grad():
        return measure_flops(net, lambda: net(sequence))


@pytest.mark.filterwarnings("ignore:TF32 acceleration on top of oneDNN")
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("steps,features", [(28, 28), (784, 1)])
def test_fused_lstm_counts_the_flops_of_its_unfused_matrix_products(steps, features, bidirectional):
    net = RecurrentClassifier(
        input_size=features, hidden=16, layers=2, bidirectional=bidirectional
    ).eval()
    sequence = torch.randn(steps, 3, features)
    unfused = counted_flops(net, sequence, fused=False)
    assert unfused > 2 * 2 * 16 * 10 * 3  # more than the linear head: the LSTM is counted there
    assert counted_flops(net, sequence, fused=True) == unfused


def test_cudnn_formula_counts_every_weight_matrix_once_per_token():
    net = RecurrentClassifier(hidden=16, layers=2, bidirectional=True)
    weights = [weight.shape for weight in net.rnn._flat_weights]
    products = 2 * 28 * 4 * sum(w.numel() for w in net.rnn._flat_weights if w.dim() == 2)
    assert cudnn_rnn_flops((28, 4, 28), weights, 0, None, (4, 4, 16)) == products


@pytest.mark.parametrize("sequence", ["rows", "pixels"])
def test_model_summary_counts_the_lstm_on_the_datamodules_example_sequence(sequence, tmp_path):
    datamodule = MNISTDataModule(data_dir=str(tmp_path), sequence=sequence)
    features = 28 if sequence == "rows" else 1
    net = RecurrentClassifier(input_size=features, hidden=8, layers=1)
    module = SequenceClassifierModule(net, optimizer=torch.optim.SGD)
    module.example_input_array = datamodule.example_sequence()
    per_image = 2 * (784 // features) * 4 * 8 * (features + 8) + 2 * 8 * 10
    assert ModelSummary(module).total_flops == per_image


def test_the_default_models_summary_shows_the_11_8_million_flops_the_readme_quotes(tmp_path):
    cfg = compose_train(tmp_path)
    module = build_module(cfg)
    module.example_input_array = instantiate(cfg.data).example_sequence()
    summary = ModelSummary(module)
    # 28 rows through two 128-unit layers (4 gates each) and the 128 -> 10 head, 2 FLOPs per MAC
    layers = 2 * 28 * 4 * 128 * (28 + 128) + 2 * 28 * 4 * 128 * (128 + 128)
    assert summary.total_flops == layers + 2 * 128 * 10 == 11_815_424
    assert get_human_readable_count(summary.total_flops) == "11.8 M"
