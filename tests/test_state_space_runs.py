"""model=s4d and model=lmu go everywhere the LSTM goes: train, eval and predict in every sequence
mode, checkpoints, the time-to-target callback, DDP and sweeps."""

import math

import pytest
import torch
from helpers.runs import QUICK_LMU, QUICK_S4D, compose_task, compose_train
from helpers.synthetic import save_digit
from lightning.pytorch.utilities import measure_flops

from seqmnist.callbacks import SECONDS_TO_TARGET
from seqmnist.config.build import build_run, load_trained
from seqmnist.errors import ConfigError
from seqmnist.evaluation import evaluate
from seqmnist.models import S4DClassifier
from seqmnist.prediction import predict
from seqmnist.training import train

ONE_SHORT_EPOCH = ["logger=none", "trainer.max_epochs=1", "+trainer.limit_train_batches=3"]


@pytest.mark.parametrize("network", [QUICK_S4D, QUICK_LMU], ids=["s4d", "lmu"])
@pytest.mark.parametrize(
    ("mode", "figure"),
    [
        ("rows", "reading_row_by_row.png"),
        ("columns", "reading_column_by_column.png"),
        ("pixels", "reading_pixel_by_pixel.png"),
        ("permuted", "reading_pixel_by_pixel.png"),
    ],
)
def test_a_short_run_trains_evaluates_and_predicts_in_every_mode(
    tmp_path, synthetic_mnist, network, mode, figure
):
    run_dir = tmp_path / "logs" / "train" / "runs" / "run"
    cfg = compose_train(
        run_dir,
        *network,
        *synthetic_mnist.overrides(),
        f"data.sequence={mode}",
        f"paths.log_dir={tmp_path / 'logs'}",
        *ONE_SHORT_EPOCH,
    )
    trained = train(cfg)
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    evaluated = evaluate(
        compose_task(
            "eval",
            tmp_path / "eval",
            f"ckpt_path={checkpoint}",
            f"paths.data_dir={synthetic_mnist.root}",
        )
    )
    assert evaluated["test/acc"] == pytest.approx(trained["test/acc"], abs=1e-6)
    save_digit(tmp_path / "one.png")
    predicted = predict(
        compose_task(
            "predict",
            tmp_path / "predict",
            f"ckpt_path={checkpoint}",
            f"images=[{tmp_path / 'one.png'}]",
            "figure=true",
        )
    )
    assert list(predicted) == [str(tmp_path / "one.png")]
    assert (tmp_path / "predict" / figure).is_file()


def test_load_trained_rebuilds_the_trained_network(tmp_path, synthetic_mnist):
    run_dir = tmp_path / "run"
    train(compose_train(run_dir, *QUICK_S4D, *synthetic_mnist.overrides(), *ONE_SHORT_EPOCH))
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    module = load_trained(run_dir / "checkpoints" / "last.ckpt").module
    assert isinstance(module.net, S4DClassifier)
    assert all(
        torch.equal(tensor, checkpoint["state_dict"][name])
        for name, tensor in module.state_dict().items()
    )


def test_the_time_to_target_callback_times_an_s4d_run(tmp_path, synthetic_mnist):
    metrics = train(
        compose_train(
            tmp_path,
            *QUICK_S4D,
            *synthetic_mnist.overrides(),
            "logger=none",
            "callbacks=[default,time_to_target]",
            "callbacks.time_to_target.monitor=val/loss",
            "callbacks.time_to_target.target=1.0",  # val/loss >= 1.0: met at the first validation
        )
    )
    assert 0 < metrics[SECONDS_TO_TARGET] < math.inf


def test_the_model_summary_counts_the_state_space_products():
    net = S4DClassifier(d_model=8, d_state=4, layers=1, mixing="linear").eval()
    sequence = torch.randn(56, 2, 1)
    with torch.no_grad():
        flops = measure_flops(net, lambda: net(sequence))
    position_wise = 2 * 2 * 56 * (1 * 8 + 8 * 8) + 2 * 2 * 8 * 10
    # within chunks of 56: the 56 x 56 Toeplitz product, and the state in and out (2 x 2 modes)
    state_space = 2 * 2 * 8 * 56 * (56 + 2 * 4)
    assert flops == position_wise + state_space


def test_bad_s4d_settings_are_reported_by_their_config_keys(tmp_path):
    cfg = compose_train(tmp_path, "model=s4d", "model.d_state=0", "model.bidirectional=true")
    with pytest.raises(
        ConfigError, match=r"model\.d_state=0 is invalid.*model\.bidirectional=True"
    ):
        build_run(cfg)
