"""Shared test settings. Area-specific fixtures live in the test modules that use them."""

import os

# Tests never touch the network: Hugging Face libraries must only read local files.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
