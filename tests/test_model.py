"""The network: a stacked LSTM read sequence-first, classified from the last step's output."""

import pytest
import torch

from seqmnist.models import RecurrentClassifier


def test_logits_have_one_row_per_image_and_one_column_per_class():
    net = RecurrentClassifier(hidden=16, layers=2, num_classes=10)
    assert net(torch.randn(28, 5, 28)).shape == (5, 10)


def test_batch_of_one_gives_a_batch_of_one():
    net = RecurrentClassifier(hidden=16, layers=2)
    assert net(torch.randn(28, 1, 28)).shape == (1, 10)


def test_classification_reads_the_last_time_step_of_the_top_layer():
    net = RecurrentClassifier(hidden=16, layers=3).eval()
    sequence = torch.randn(28, 4, 28)
    outputs, _ = net.rnn(sequence)
    assert torch.allclose(net(sequence), net.head(outputs[-1]))


def test_layer_count_and_hidden_size_shape_the_lstm():
    net = RecurrentClassifier(input_size=28, hidden=32, layers=3)
    assert (net.rnn.num_layers, net.rnn.hidden_size, net.rnn.input_size) == (3, 32, 28)
    assert not net.rnn.batch_first


def test_dropout_is_active_in_training_and_off_in_evaluation():
    torch.manual_seed(0)
    net = RecurrentClassifier(hidden=32, layers=2, dropout=0.5)
    sequence = torch.randn(28, 8, 28)
    net.train()
    assert not torch.equal(net(sequence), net(sequence))
    net.eval()
    assert torch.equal(net(sequence), net(sequence))


def test_logits_per_step_end_with_the_classification():
    net = RecurrentClassifier(hidden=16, layers=2).eval()
    sequence = torch.randn(28, 3, 28)
    per_step = net.logits_per_step(sequence)
    assert per_step.shape == (28, 3, 10)
    assert torch.allclose(per_step[-1], net(sequence))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("readout", ["last", "mean"])
def test_every_cell_direction_and_readout_classifies_a_batch(cell, bidirectional, readout):
    net = RecurrentClassifier(
        input_size=1, hidden=8, cell=cell, bidirectional=bidirectional, readout=readout
    )
    assert net(torch.randn(50, 3, 1)).shape == (3, 10)


def test_the_cell_option_picks_the_torch_layer():
    assert isinstance(RecurrentClassifier(cell="gru").rnn, torch.nn.GRU)
    rnn = RecurrentClassifier(cell="rnn").rnn
    assert isinstance(rnn, torch.nn.RNN) and rnn.nonlinearity == "tanh"


def test_bidirectional_last_readout_joins_each_directions_final_output():
    net = RecurrentClassifier(hidden=8, layers=1, bidirectional=True).eval()
    sequence = torch.randn(28, 2, 28)
    outputs, _ = net.rnn(sequence)
    forward_done, backward_done = outputs[-1, :, :8], outputs[0, :, 8:]
    assert torch.allclose(net(sequence), net.head(torch.cat([forward_done, backward_done], dim=-1)))


def test_mean_readout_averages_the_outputs_over_time():
    net = RecurrentClassifier(hidden=8, readout="mean").eval()
    sequence = torch.randn(28, 2, 28)
    outputs, _ = net.rnn(sequence)
    assert torch.allclose(net(sequence), net.head(outputs.mean(dim=0)))


def test_mean_readout_logits_per_step_end_with_the_classification():
    net = RecurrentClassifier(hidden=8, readout="mean").eval()
    sequence = torch.randn(28, 2, 28)
    assert torch.allclose(net.logits_per_step(sequence)[-1], net(sequence), atol=1e-6)


def test_a_bidirectional_network_has_no_step_by_step_reading():
    net = RecurrentClassifier(hidden=8, bidirectional=True)
    assert not net.reads_step_by_step
    with pytest.raises(ValueError, match="reads every step"):
        net.logits_per_step(torch.randn(28, 1, 28))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_forget_bias_sets_every_forget_gate_and_keeps_the_other_gates(bidirectional):
    torch.manual_seed(0)
    default = RecurrentClassifier(hidden=8, layers=2, bidirectional=bidirectional)
    torch.manual_seed(0)
    chosen = RecurrentClassifier(hidden=8, layers=2, bidirectional=bidirectional, forget_bias=1.0)
    forget, others = slice(8, 16), torch.cat([torch.arange(0, 8), torch.arange(16, 32)])
    biases = [name for name, _ in chosen.rnn.named_parameters() if name.startswith("bias_ih")]
    assert len(biases) == 2 * (2 if bidirectional else 1)
    for bias_ih in biases:
        bias_hh = bias_ih.replace("bias_ih", "bias_hh")
        total = getattr(chosen.rnn, bias_ih) + getattr(chosen.rnn, bias_hh)
        before = getattr(default.rnn, bias_ih) + getattr(default.rnn, bias_hh)
        assert torch.equal(total[forget], torch.ones(8))
        assert torch.equal(total[others], before[others])


def test_forget_bias_needs_an_lstm():
    with pytest.raises(
        ValueError, match=r"forget_bias=1.0 is invalid .*cell='gru' has no forget gate"
    ):
        RecurrentClassifier(cell="gru", forget_bias=1.0)
