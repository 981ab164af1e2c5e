"""The training allocator setting: freed memory is reused, not faulted in again."""

import os
import subprocess
import sys

import pytest

CHILD = """
import resource, torch
from aekit.families import AEConfig, AutoEncoderNet
from aekit.train import Callback, TrainConfig, train
from aekit.allocator import tune_for_training
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
marks = []
class Count(Callback):
    def on_epoch_end(self, state):
        marks.append(faults())
# 4096 -> 2048: its weight gradient (32 MiB) is above glibc's largest mmap threshold
net = AutoEncoderNet(AEConfig(4096, 64, (2048,)))
cfg = TrainConfig(max_epochs=7, batch_size=64, patience=None, verbose=0, dead_units="ignore")
train(net, torch.rand(128, 4096), None, cfg, callbacks=[Count()])
per_step = sorted((b - a) // 2 for a, b in zip(marks[1:-1], marks[2:]))
print(tune_for_training(), per_step[len(per_step) // 2])  # median of 5 warm epochs
"""


def _run(allocator: str) -> tuple[bool, int]:
    env = {**os.environ, "AEKIT_ALLOCATOR": allocator, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    tuned, faults = out.stdout.split()
    return tuned == "True", int(faults)


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the setting is glibc's (Linux)"
)
def test_freed_memory_is_reused_without_page_faults():
    tuned, faults = _run("auto")
    if not tuned:
        pytest.skip("not glibc: nothing to tune")
    # a step allocates two 32 MiB gradients, 16,384 pages of 4 KiB, and more;
    # reused memory faults none of them in again
    assert faults < 1_000
    untuned, system_faults = _run("system")
    assert not untuned and system_faults > 16_000  # what the setting saves
