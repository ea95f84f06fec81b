"""Shared test settings. Area-specific fixtures live in the test modules that use them."""

import os

# Tests never touch the network: Hugging Face libraries must only read local files.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def labelled(tmp_path_factory):
    """`labelled(name)`: the labelled real-text set `name` (docs/real_text.md) from a fresh build of the
    installed Debian documentation packages, made once per test session (~15 s), so a test never reads
    a stale build; skips when the packages are not installed."""
    realtext = pytest.importorskip("realtext")
    missing = realtext.missing_packages()
    if missing:
        pytest.skip(f"real text needs the Debian documentation packages: apt-get install {' '.join(missing)}")
    from realtext.build import build

    folder = tmp_path_factory.mktemp("realtext")
    build(folder)
    return lambda name: realtext.load(name, folder)
