"""Importing seqmnist changes nothing in the importing process: a notebook keeps its plotting
backend, and configs, FLOP counting and signals are set up only by whoever asks for them."""

import os
import subprocess
import sys

IMPORT_EVERY_MODULE = """
import importlib, pkgutil, signal
import matplotlib, torch
from omegaconf import OmegaConf
from torch.utils.flop_counter import flop_registry
handler = signal.getsignal(signal.SIGTERM)
import seqmnist
for module in pkgutil.walk_packages(seqmnist.__path__, "seqmnist."):
    importlib.import_module(module.name)
print(matplotlib.get_backend())
print(OmegaConf.has_resolver("features_per_step"), OmegaConf.has_resolver("available_cores"))
print(torch.ops.aten.mkldnn_rnn_layer in flop_registry)
print(signal.getsignal(signal.SIGTERM) is handler)
"""


def test_importing_every_module_keeps_the_backend_and_registers_nothing():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE],
        env={**os.environ, "MPLBACKEND": "svg"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:4] == ["svg", "False False", "False", "True"]
