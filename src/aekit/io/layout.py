"""What a model folder holds: the names of its files and the identity of its format."""

from __future__ import annotations

FORMAT = "aekit-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
LOCK_FILE = ".aekit.lock"
MAX_CONFIG_BYTES = 64 * 2**20  # a config beyond this is not ours
# the files a model folder of ours holds (the command line adds the last two)
MODEL_FILES = {CONFIG_FILE, WEIGHTS_FILE, LOCK_FILE, "train_config.json", "history.csv"}
