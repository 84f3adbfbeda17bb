import sys
from pathlib import Path

# tests/ is not a package; put it on sys.path so test modules can share
# helpers with a plain "from synth import make_library".
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Tests never read or write the user's ~/.cache/autofoley (nor their
    config and data folders), and never the network: Hugging Face lookups are forced offline."""
    import os

    os.environ["AUTOFOLEY_CACHE"] = str(tmp_path_factory.mktemp("autofoley-cache"))
    # Nor the user's own settings and data (tuned defaults, kind votes).
    os.environ["AUTOFOLEY_CONFIG"] = str(tmp_path_factory.mktemp("autofoley-config"))
    os.environ["AUTOFOLEY_DATA"] = str(tmp_path_factory.mktemp("autofoley-data"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    yield
