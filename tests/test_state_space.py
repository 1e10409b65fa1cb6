"""The S4D network: its chunked convolution is its recurrence, its parameters say how they train."""

import pytest
import torch

from seqmnist.models import S4DClassifier
from seqmnist.models.lightning_module import parameter_groups
from seqmnist.models.recurrent import RecurrentClassifier
from seqmnist.models.schedules import one_cycle
from seqmnist.validation import InvalidArguments


def small_s4d(**settings) -> S4DClassifier:
    torch.manual_seed(0)
    return S4DClassifier(**{"d_model": 8, "d_state": 6, "chunk": 5, **settings}).eval()


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("readout", ["mean", "last"])
def test_convolution_and_recurrence_give_the_same_logits(layers, readout):
    net = small_s4d(layers=layers, readout=readout, dt_max=0.5, input_size=2)
    sequence = torch.randn(23, 3, 2)  # 23 steps: chunks of 5 and a partial one
    with torch.no_grad():
        per_step = net.logits_per_step(sequence)
        assert torch.allclose(per_step[-1], net(sequence), atol=1e-5)


def test_every_step_of_the_recurrence_is_the_convolution_cut_there():
    net = small_s4d(layers=2)
    sequence = torch.randn(17, 2, 1)
    with torch.no_grad():
        per_step = net.logits_per_step(sequence)
        for step in (0, 4, 5, 11):
            assert torch.allclose(per_step[step], net(sequence[: step + 1]), atol=1e-5)


@pytest.mark.parametrize("chunk", [1, 4, 7, 100])
def test_the_chunk_length_changes_speed_not_outputs(chunk):
    sequence = torch.randn(30, 2, 3)
    with torch.no_grad():
        reference = small_s4d(chunk=30, input_size=3)(sequence)
        assert torch.allclose(small_s4d(chunk=chunk, input_size=3)(sequence), reference, atol=1e-5)


def test_the_network_takes_and_returns_what_the_recurrent_one_does():
    net = small_s4d(input_size=28)
    assert net(torch.randn(28, 4, 28)).shape == (4, 10)


def test_s4d_inv_initialisation_also_agrees_with_its_recurrence():
    net = small_s4d(init="inv", layers=2)
    sequence = torch.randn(12, 2, 1)
    with torch.no_grad():
        assert torch.allclose(net.logits_per_step(sequence)[-1], net(sequence), atol=1e-5)


def test_the_kernel_stays_float32_under_autocast():
    net = small_s4d()
    block = net.blocks[0]
    seen = []
    original = block.convolve
    block.convolve = lambda u: seen.append(u.dtype) or original(u)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        net(torch.randn(10, 2, 1))
    assert seen == [torch.float32]


def test_state_space_parameters_form_their_own_group_without_weight_decay():
    net = small_s4d(layers=2, ssm_lr=1e-4, ssm_weight_decay=0.0)
    optimizer = torch.optim.AdamW(parameter_groups(net), lr=3e-3, weight_decay=0.05)
    rest, ssm = optimizer.param_groups
    assert (ssm["lr"], ssm["weight_decay"]) == (1e-4, 0.0)
    assert (rest["lr"], rest["weight_decay"]) == (3e-3, 0.05)
    ssm_ids = {id(p) for p in ssm["params"]}
    expected = {id(p) for b in net.blocks for p in (b.kernel.log_dt, b.kernel.log_neg_a_real,
                                                      b.kernel.a_imag)}  # fmt: skip
    assert ssm_ids == expected
    assert len(rest["params"]) + len(ssm["params"]) == len(list(net.parameters()))


def test_one_cycle_peaks_each_group_at_its_own_learning_rate():
    net = small_s4d(ssm_lr=1e-3)
    optimizer = torch.optim.AdamW(parameter_groups(net), lr=4e-3)
    schedule = one_cycle(optimizer, total_steps=100, max_lr=4e-3, pct_start=0.1)
    peaks = []
    for _ in range(100):
        peaks.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        schedule.step()
    assert max(p[0] for p in peaks) == pytest.approx(4e-3)
    assert max(p[1] for p in peaks) == pytest.approx(1e-3)


def test_a_network_without_groups_gives_the_optimizer_its_plain_parameter_list():
    net = RecurrentClassifier(input_size=2, hidden=4, layers=1)
    assert parameter_groups(net) == list(net.parameters())


@pytest.mark.parametrize(
    ("setting", "value"),
    [("d_state", 0), ("d_state", 5), ("bidirectional", True), ("dt_max", 1e-5), ("init", "x")],
)
def test_bad_settings_are_refused_by_their_own_name(setting, value):
    with pytest.raises(InvalidArguments) as refused:
        S4DClassifier(**{setting: value})
    assert setting in refused.value.problems


def test_parameters_move_with_the_module_as_real_tensors():
    net = small_s4d().double()
    assert all(not p.is_complex() and p.dtype == torch.float64 for p in net.parameters())
    assert net(torch.randn(6, 2, 1, dtype=torch.float64)).dtype == torch.float64
