"""The network: a stacked LSTM read sequence-first, classified from the last step's output."""

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
    outputs, _ = net.lstm(sequence)
    assert torch.allclose(net(sequence), net.head(outputs[-1]))


def test_layer_count_and_hidden_size_shape_the_lstm():
    net = RecurrentClassifier(input_size=28, hidden=32, layers=3)
    assert (net.lstm.num_layers, net.lstm.hidden_size, net.lstm.input_size) == (3, 32, 28)
    assert not net.lstm.batch_first


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
