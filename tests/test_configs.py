"""Every option of every config group composes with the rest and instantiates into a working object."""

from pathlib import Path

import pytest
import torch
from helpers.runs import CONFIG_DIR, compose_train, options
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.pytorch import Callback, LightningDataModule, Trainer
from lightning.pytorch.loggers import Logger

from seqmnist.config.build import build_loggers, build_module, build_run
from seqmnist.models import S4DClassifier, SequenceClassifierModule
from seqmnist.models.lightning_module import parameter_groups


def test_every_group_offers_the_options_the_readme_promises():
    assert {"adadelta", "momentum", "adam", "adamw"} <= set(options("optimizer"))
    assert {"none", "onecycle"} <= set(options("scheduler"))
    assert {"default", "cpu", "gpu", "ddp", "ddp_sim"} <= set(options("trainer"))
    assert {"tensorboard", "csv", "mlflow", "wandb", "many", "none"} <= set(options("logger"))
    assert {"tf_tutorial", "torch_tutorial"} <= set(options("experiment"))


@pytest.mark.parametrize("option", options("data"))
def test_data_option_instantiates_a_datamodule(tmp_path, option):
    assert isinstance(
        instantiate(compose_train(tmp_path, f"data={option}").data), LightningDataModule
    )


@pytest.mark.parametrize("option", options("model"))
def test_model_option_builds_a_module_that_classifies_a_sequence(tmp_path, option):
    module = build_module(compose_train(tmp_path, f"model={option}"))
    assert module(torch.randn(28, 3, 28)).shape == (3, 10)


@pytest.mark.parametrize("option", options("optimizer"))
def test_optimizer_option_is_a_partial_that_takes_parameters(tmp_path, option):
    factory = instantiate(compose_train(tmp_path, f"optimizer={option}").optimizer)
    assert isinstance(factory(params=[torch.nn.Parameter(torch.zeros(2))]), torch.optim.Optimizer)


@pytest.mark.parametrize("option", options("scheduler"))
def test_scheduler_option_steps_over_a_whole_run(tmp_path, option):
    cfg = compose_train(tmp_path, f"scheduler={option}")
    optimizer = instantiate(cfg.optimizer)(params=[torch.nn.Parameter(torch.zeros(2))])
    if not cfg.scheduler:
        assert option == "none"
        return
    scheduler = instantiate(cfg.scheduler)(optimizer=optimizer, total_steps=20)
    for _ in range(20):
        optimizer.step()
        scheduler.step()
    assert all(group["lr"] >= 0 for group in optimizer.param_groups)


@pytest.mark.parametrize("option", options("trainer"))
def test_trainer_option_instantiates_where_its_hardware_exists(tmp_path, option):
    cfg = compose_train(tmp_path, f"trainer={option}", "logger=none", "callbacks=none")
    if cfg.trainer.accelerator == "gpu" and not torch.cuda.is_available():
        pytest.skip(f"trainer={option} needs a CUDA GPU (composition itself succeeded)")
    build_run(cfg)  # settles trainer.precision=auto for the network and this device
    assert isinstance(instantiate(cfg.trainer, logger=False), Trainer)


@pytest.mark.parametrize("option", options("logger"))
def test_logger_option_instantiates_loggers(tmp_path, option):
    cfg = compose_train(tmp_path, f"logger={option}", f"paths.log_dir={tmp_path}")
    loggers = build_loggers(cfg.get("logger"))
    assert all(isinstance(logger, Logger) for logger in loggers)
    assert (len(loggers) == 0) == (option == "none")


@pytest.mark.parametrize("option", options("callbacks"))
def test_callbacks_option_instantiates_callbacks(tmp_path, option):
    callbacks = build_run(compose_train(tmp_path, f"callbacks={option}")).callbacks
    assert all(isinstance(callback, Callback) for callback in callbacks)


@pytest.mark.parametrize("option", options("experiment"))
def test_experiment_option_composes_and_builds_data_model_and_trainer(tmp_path, option):
    cfg = compose_train(tmp_path, f"experiment={option}", "trainer=cpu")
    run = build_run(cfg)
    assert isinstance(run.module, SequenceClassifierModule)
    assert isinstance(run.datamodule, LightningDataModule)
    assert isinstance(instantiate(cfg.trainer, logger=False), Trainer)


def test_torch_tutorial_experiment_is_the_tutorials_recipe(tmp_path):
    cfg = compose_train(tmp_path, "experiment=torch_tutorial")
    assert cfg.optimizer._target_ == "torch.optim.Adadelta" and cfg.optimizer.lr == 0.1
    assert (cfg.model.hidden, cfg.model.layers, cfg.data.batch_size) == (100, 2, 64)
    assert (cfg.data.mean, cfg.data.std, cfg.trainer.max_epochs) == (0.5, 0.5, 10)
    assert not cfg.scheduler


def test_tf_tutorial_experiment_is_the_tutorials_recipe(tmp_path):
    cfg = compose_train(tmp_path, "experiment=tf_tutorial")
    assert cfg.optimizer._target_ == "torch.optim.SGD"
    assert (cfg.optimizer.lr, cfg.optimizer.momentum) == (0.01, 0.9)
    assert (cfg.model.hidden, cfg.model.layers, cfg.model.dropout) == (100, 2, 0.5)
    assert (cfg.data.batch_size, cfg.trainer.max_steps) == (64, 10_000)


def test_without_a_logger_the_learning_rate_monitor_is_left_out(tmp_path):
    cfg = compose_train(tmp_path, "logger=none")
    assert not any(type(c).__name__ == "LearningRateMonitor" for c in build_run(cfg).callbacks)


@pytest.mark.parametrize("optimizer", options("optimizer"))
@pytest.mark.parametrize("scheduler", [s for s in options("scheduler") if s != "none"])
def test_every_optimizer_combines_with_every_scheduler(tmp_path, optimizer, scheduler):
    cfg = compose_train(tmp_path, f"optimizer={optimizer}", f"scheduler={scheduler}")
    built = instantiate(cfg.optimizer)(params=[torch.nn.Parameter(torch.zeros(2))])
    instantiate(cfg.scheduler)(optimizer=built, total_steps=10)


def test_one_cycle_leaves_plain_sgd_without_momentum(tmp_path):
    cfg = compose_train(tmp_path, "optimizer=sgd", "scheduler=onecycle")
    built = instantiate(cfg.optimizer)(params=[torch.nn.Parameter(torch.zeros(2))])
    instantiate(cfg.scheduler)(optimizer=built, total_steps=10)
    assert built.param_groups[0]["momentum"] == 0


def built_for(tmp_path: Path, *overrides: str) -> dict:
    """Everything train.py builds from a config."""
    cfg = compose_train(tmp_path, *overrides)
    run = build_run(cfg)
    return {
        "cfg": cfg,
        "net": run.module.net,
        "optimizer": run.module.optimizer_factory(params=parameter_groups(run.module.net)),
        "trainer": instantiate(cfg.trainer, logger=False),
        "loggers": run.loggers,
        "callbacks": run.callbacks,
    }


@pytest.mark.parametrize(
    ("override", "took_effect"),
    [
        ("model.hidden=64", lambda b: b["net"].rnn.hidden_size == 64),
        ("model.layers=3", lambda b: b["net"].rnn.num_layers == 3),
        ("model.cell=gru", lambda b: isinstance(b["net"].rnn, torch.nn.GRU)),
        ("model.dropout=0.3", lambda b: b["net"].output_dropout.p == 0.3),
        ("optimizer=rmsprop", lambda b: type(b["optimizer"]) is torch.optim.RMSprop),
        ("optimizer=adadelta", lambda b: type(b["optimizer"]) is torch.optim.Adadelta),
        (
            "optimizer=momentum",
            lambda b: (
                type(b["optimizer"]) is torch.optim.SGD
                and b["optimizer"].defaults["momentum"] == 0.9
            ),
        ),
        ("optimizer.lr=0.0123", lambda b: b["optimizer"].defaults["lr"] == 0.0123),
        ("trainer.max_epochs=3", lambda b: b["trainer"].max_epochs == 3),
        ("trainer.gradient_clip_val=0.5", lambda b: b["trainer"].gradient_clip_val == 0.5),
        (
            "logger=csv",
            lambda b: [type(x).__name__ for x in b["loggers"]] == ["ContinuingCSVLogger"],
        ),
        (
            "callbacks=early_stopping",
            lambda b: (
                [
                    (type(c).__name__, getattr(c, "monitor", None), getattr(c, "mode", None))
                    for c in b["callbacks"]
                ]
                == [("EarlyStopping", "val/acc", "max")]
            ),
        ),
        (
            "callbacks=[default,early_stopping]",
            lambda b: (
                "EarlyStopping" in {type(c).__name__ for c in b["callbacks"]}
                and "ModelCheckpoint" in {type(c).__name__ for c in b["callbacks"]}
            ),
        ),
    ],
)
def test_an_override_changes_what_is_built(tmp_path, override, took_effect):
    assert not took_effect(built_for(tmp_path)), f"the default already satisfies {override}"
    assert took_effect(built_for(tmp_path, override))


def test_the_default_recipe_clips_gradients_at_one(tmp_path):
    assert built_for(tmp_path)["trainer"].gradient_clip_val == 1.0


def test_the_default_recipe_adds_augmentation_dropout_ema_and_ten_epochs(tmp_path):
    built = built_for(tmp_path)
    assert dict(built["cfg"].data.augmentation) == {"degrees": 10, "translate": 2, "scale": 0.1}
    assert (built["net"].rnn.hidden_size, built["net"].rnn.num_layers) == (128, 2)
    assert built["net"].output_dropout.p == 0.1
    assert built["trainer"].max_epochs == 10
    assert "AveragedWeights" in {type(callback).__name__ for callback in built["callbacks"]}


def test_another_experiment_replaces_the_default_recipe_instead_of_adding_to_it(tmp_path):
    built = built_for(tmp_path, "experiment=torch_tutorial")
    assert built["cfg"].data.augmentation is None
    assert "AveragedWeights" not in {type(callback).__name__ for callback in built["callbacks"]}


def test_the_handwriting_recipe_is_the_default_with_stronger_distortions(tmp_path):
    default, handwriting = (
        built_for(tmp_path)["cfg"],
        built_for(tmp_path, "experiment=handwriting")["cfg"],
    )
    distortions = dict(handwriting.data.augmentation)
    assert distortions.keys() >= {"degrees", "translate", "scale", "shear", "stroke", "blur"}
    assert all(
        distortions[key] >= default.data.augmentation[key] for key in default.data.augmentation
    )
    assert handwriting.trainer.max_epochs == default.trainer.max_epochs
    assert handwriting.model == default.model


def test_row_lstm_experiment_is_its_documented_recipe(tmp_path):
    built = built_for(tmp_path, "experiment=row_lstm")
    assert dict(built["cfg"].data.augmentation) == {"degrees": 10, "translate": 2, "scale": 0.1}
    assert (built["net"].rnn.hidden_size, built["net"].rnn.num_layers) == (128, 2)
    assert built["net"].output_dropout.p == 0.1
    assert built["trainer"].max_epochs == 20
    assert "AveragedWeights" in {type(callback).__name__ for callback in built["callbacks"]}


@pytest.mark.parametrize(
    ("experiment", "sequence"), [("smnist_lstm", "pixels"), ("psmnist_lstm", "permuted")]
)
def test_sequential_mnist_experiments_read_one_pixel_per_step(tmp_path, experiment, sequence):
    built = built_for(tmp_path, f"experiment={experiment}")
    assert built["cfg"].data.sequence == sequence
    assert (built["net"].rnn.input_size, built["net"].rnn.num_layers) == (1, 1)
    assert built["optimizer"].defaults["lr"] == 0.002
    assert built["cfg"].model.forget_bias == 1.0
    assert (built["trainer"].max_epochs, built["trainer"].gradient_clip_val) == (8, 1.0)


@pytest.mark.parametrize(("devices", "nodes"), [(1, 1), (4, 2)])
def test_the_slurm_cluster_config_sizes_the_allocation_as_lightning_checks_it(
    monkeypatch, devices, nodes
):
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "cluster=slurm_ddp",
                f"trainer.devices={devices}",
                f"trainer.num_nodes={nodes}",
            ],
            return_hydra_config=True,
        )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert cfg.trainer.strategy == "ddp"
    # the variables SLURM sets for such an allocation, read by Lightning's own validation
    monkeypatch.setenv("SLURM_JOB_NAME", "train")
    monkeypatch.setenv("SLURM_NTASKS_PER_NODE", str(launcher.tasks_per_node))
    monkeypatch.setenv("SLURM_NNODES", str(launcher.nodes))
    SLURMEnvironment().validate_settings(num_devices=cfg.trainer.devices, num_nodes=nodes)
    assert launcher.gpus_per_node == devices


def test_submitit_defaults_would_fail_lightnings_slurm_check_for_several_gpus(monkeypatch):
    # why cluster=slurm_ddp exists: hydra/launcher=submitit_slurm alone starts 1 task per node
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=["hydra/launcher=submitit_slurm", "trainer=ddp", "trainer.devices=4"],
            return_hydra_config=True,
        )
    monkeypatch.setenv("SLURM_JOB_NAME", "train")
    monkeypatch.setenv("SLURM_NTASKS_PER_NODE", str(cfg.hydra.launcher.tasks_per_node))
    with pytest.raises(ValueError, match="--ntasks-per-node=1"):
        SLURMEnvironment().validate_settings(num_devices=4, num_nodes=1)


@pytest.mark.parametrize(
    ("experiment", "sequence"),
    [("row_s4d", "rows"), ("smnist_s4d", "pixels"), ("psmnist_s4d", "permuted")],
)
def test_state_space_experiments_train_an_s4d_network_on_their_sequence(
    tmp_path, experiment, sequence
):
    built = built_for(tmp_path, f"experiment={experiment}")
    assert built["cfg"].data.sequence == sequence
    assert isinstance(built["net"], S4DClassifier)
    rest, state_space = built["optimizer"].param_groups
    assert (state_space["lr"], state_space["weight_decay"]) == (0.001, 0.0)
    assert rest["weight_decay"] == built["cfg"].optimizer.weight_decay


def test_the_gpu_trainer_composes_with_the_state_space_model(tmp_path):
    cfg = compose_train(tmp_path, "trainer=gpu", "model=s4d", "data.sequence=pixels")
    assert (cfg.trainer.accelerator, cfg.model._target_) == ("gpu", "seqmnist.models.S4DClassifier")
    assert build_module(cfg)(torch.randn(30, 2, 1)).shape == (2, 10)


@pytest.mark.parametrize("search", ["optuna", "time_to_target"])
@pytest.mark.parametrize("model", options("model"))
def test_a_search_varies_settings_the_chosen_model_has(search, model):
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            "train", [f"hparams_search={search}", f"model={model}"], return_hydra_config=True
        )
    varied = [key.split(".", 1)[1] for key in cfg.hydra.sweeper.params if key.startswith("model.")]
    assert varied and all(setting in cfg.model for setting in varied)
