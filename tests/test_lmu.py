"""model=lmu: the Legendre memory computed for the whole sequence equals its recurrence, and the
network goes everywhere the others go (every sequence mode, eval and predict:
test_state_space_runs.py; the summary's FLOPs, bad settings refused by key, the memory check by
its own size settings)."""

import pytest
import torch
from helpers.runs import compose_train
from lightning.pytorch.utilities import measure_flops

from seqmnist.config.build import build_run
from seqmnist.errors import ConfigError
from seqmnist.models import LMUClassifier
from seqmnist.models.lmu import legendre_memory


@pytest.fixture
def encoded() -> torch.Tensor:
    return torch.randn(40, 3, 2, generator=torch.Generator().manual_seed(0))


def test_the_final_state_as_one_product_equals_the_recurrences_last_state(encoded):
    net = LMUClassifier(input_size=1, order=12, theta=40)
    assert torch.allclose(net.final_memory(encoded), net.recurrent_memories(encoded)[-1], atol=1e-5)


def test_every_state_by_fft_equals_the_recurrence(encoded):
    net = LMUClassifier(input_size=1, order=12, theta=40)
    assert torch.allclose(net.all_memories(encoded), net.recurrent_memories(encoded), atol=1e-5)


def test_the_impulse_response_is_the_recurrences_answer_to_one_unit_input():
    net = LMUClassifier(input_size=1, order=8, theta=30)
    impulse = torch.zeros(30, 1, 1)
    impulse[0] = 1.0
    states = net.recurrent_memories(impulse).squeeze(1)
    assert torch.allclose(states, net.response(30, torch.device("cpu")), atol=1e-6)


def test_zero_order_hold_integrates_the_continuous_system_over_one_step():
    # B̄ = ∫_0^1 exp(A s / theta) ds B / theta, here by the trapezoid rule on a fine grid
    order, theta = 6, 10.0
    a_bar, b_bar = legendre_memory(order, theta)
    q = torch.arange(order, dtype=torch.float64)
    rows, cols = q.view(-1, 1), q.view(1, -1)
    a = torch.where(rows < cols, -1.0, (-1.0) ** (rows - cols + 1)) * (2 * rows + 1) / theta
    b = (-1.0) ** q * (2 * q + 1) / theta
    grid = torch.linspace(0, 1, 2001, dtype=torch.float64)
    integrand = torch.stack([torch.linalg.matrix_exp(a * s) @ b for s in grid])
    assert torch.allclose(b_bar, torch.trapezoid(integrand, grid, dim=0), atol=1e-7)
    assert torch.allclose(a_bar, torch.linalg.matrix_exp(a), atol=1e-12)
    assert float(torch.linalg.eigvals(a_bar).abs().max()) < 1


@pytest.mark.parametrize("readout", ["last", "mean"])
def test_the_whole_sequence_answer_is_the_last_step_by_step_answer(readout):
    net = LMUClassifier(input_size=3, order=10, theta=25, hidden=8, readout=readout).eval()
    sequence = torch.randn(25, 4, 3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole, per_step = net(sequence), net.logits_per_step(sequence)
    assert per_step.shape == (25, 4, 10)
    assert torch.allclose(whole, per_step[-1], atol=1e-5)


def test_the_memory_is_fixed_not_trained():
    net = LMUClassifier(input_size=1, order=8, theta=10)
    trained = {name for name, _ in net.named_parameters()}
    assert not any(name.startswith(("a_bar", "b_bar")) for name in trained)
    assert "a_bar" not in net.state_dict()  # rebuilt from order and theta, not stored


@pytest.mark.parametrize(("mode", "theta"), [("rows", 28), ("columns", 28), ("pixels", 784)])
def test_the_window_follows_the_sequence_mode(tmp_path, mode, theta):
    assert compose_train(tmp_path, "model=lmu", f"data.sequence={mode}").model.theta == theta


def test_the_model_summary_counts_the_fixed_memory():
    net = LMUClassifier(input_size=1, order=8, theta=20, hidden=4).eval()
    with torch.no_grad():
        flops = measure_flops(net, lambda: net(torch.randn(20, 2, 1)))
    encoder, memory = 2 * 2 * 20 * 1, 2 * 2 * 20 * 8
    hidden, head = 2 * 2 * (8 + 1) * 4, 2 * 2 * 4 * 10
    assert flops == encoder + memory + hidden + head


def test_bad_lmu_settings_are_reported_by_their_config_keys(tmp_path):
    cfg = compose_train(tmp_path, "model=lmu", "model.order=0", "model.theta=-1")
    with pytest.raises(ConfigError, match=r"model\.order=0 is invalid.*model\.theta=-1 is invalid"):
        build_run(cfg)


def test_the_memory_check_names_the_lmus_size_settings(tmp_path):
    cfg = compose_train(tmp_path, "model=lmu", "model.hidden=1000000000")
    with pytest.raises(ConfigError, match=r"Choose a smaller model\.order or model\.hidden or "):
        build_run(cfg)


def test_a_window_shorter_than_the_sequence_is_explained(caplog):
    net = LMUClassifier(input_size=1, order=4, theta=10)
    net(torch.zeros(30, 1, 1))
    assert "model.theta=10 is shorter than the sequence (30 steps)" in caplog.text
