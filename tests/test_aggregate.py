"""Runs pooled over seeds: one row per setting with n, mean ± std, min and max; failed runs counted
and named; runs of different stacks or machines not pooled unless asked."""

import csv

import pytest
from helpers.runs import QUICK, run_cli

from seqmnist.records.aggregate import aggregate, find_runs, main
from seqmnist.records.results import COMPLETED, FAILED, RunResult, write_result

STACK = {"python": "3.11.7", "torch": "2.14.1"}
HARDWARE = {"cpu": "a CPU", "gpu": None}


def record(folder, seed, test_acc, status=COMPLETED, stack=STACK, setting="experiment=fast_97"):
    write_result(
        folder,
        RunResult(
            status,
            [setting, f"seed={seed}", f"paths.data_dir=/data/{seed}"],
            10.0 + seed,
            {"test/acc": test_acc, "val/acc_best": test_acc - 0.001} if status == COMPLETED else {},
            error=None if status == COMPLETED else "ConfigError: x",
            device="cpu",
            precision="32-true",
            stack=stack,
            hardware=HARDWARE,
        ),
    )


def test_seeds_of_one_setting_make_one_row_with_mean_std_min_and_max(tmp_path):
    for seed, accuracy in enumerate((0.98, 0.99, 0.97)):
        record(tmp_path / str(seed), seed, accuracy)
    (row,) = aggregate(find_runs([tmp_path]))
    assert row["setting"] == "experiment=fast_97"
    assert row["n"] == "3" and row["failed"] == "0"
    assert (row["test/acc mean"], row["test/acc std"]) == ("0.9800", "0.0100")
    assert (row["test/acc min"], row["test/acc max"]) == ("0.9700", "0.9900")
    assert row["wall_time_s mean"] == "11.0"


def test_a_failed_run_is_counted_and_named_never_averaged(tmp_path):
    record(tmp_path / "0", 0, 0.98)
    record(tmp_path / "1", 1, 0.0, status=FAILED)
    (row,) = aggregate(find_runs([tmp_path]))
    assert row["n"] == "1" and row["test/acc mean"] == "0.9800" and row["test/acc std"] == ""
    assert row["failed"] == f"1: {tmp_path / '1'}"


def test_a_seed_run_again_is_a_repeat_not_a_second_sample(tmp_path):
    record(tmp_path / "0", 0, 0.98)
    record(tmp_path / "0-again", 0, 0.98)
    record(tmp_path / "1", 1, 0.99)
    (row,) = aggregate(find_runs([tmp_path]))
    assert row["n"] == "2" and row["test/acc mean"] == "0.9850"
    assert row["repeats"] == f"1: {tmp_path / '0-again'}"


def test_runs_of_different_stacks_are_not_pooled_unless_asked(tmp_path, capsys):
    record(tmp_path / "a", 0, 0.98)
    record(tmp_path / "b", 1, 0.99, stack={**STACK, "torch": "2.15.0"})
    with pytest.raises(SystemExit) as refused:
        main([str(tmp_path / "a"), str(tmp_path / "b")])
    assert refused.value.code == 2
    assert "differ in stack" in capsys.readouterr().err
    main([str(tmp_path / "a"), str(tmp_path / "b"), "--pool-across-machines"])
    assert "| experiment=fast_97 | 2 |" in capsys.readouterr().out


def test_a_seed_sweep_prints_and_writes_the_table_by_setting(tmp_path, synthetic_mnist):
    result = run_cli(
        "train.py", "-m", "seed=0,1,2", *QUICK, *synthetic_mnist.overrides(), "logger=none",
        "trainer.max_epochs=1", "+trainer.limit_train_batches=2", root=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "By setting, over seeds (1 settings)" in result.stdout
    (sweep,) = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    with (sweep / "summary_by_setting.csv").open() as stream:
        (row,) = list(csv.DictReader(stream))
    assert row["n"] == "3" and row["test/acc std"] != ""


def test_two_separate_sweeps_of_one_setting_pool_into_one_row(tmp_path, capsys):
    for sweep, seeds in (("monday", (0, 1)), ("tuesday", (2,))):
        for seed in seeds:
            record(tmp_path / sweep / str(seed), seed, 0.98 + seed / 1000)
    main([str(tmp_path / "monday"), str(tmp_path / "tuesday"), "--out", str(tmp_path / "t.csv")])
    assert "| experiment=fast_97 | 3 | 98.10 ± 0.10 % (98.00-98.20) |" in capsys.readouterr().out
    assert (tmp_path / "t.csv").is_file()
