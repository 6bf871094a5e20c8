import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One cache of model-only work (training-sentence vectors, ONNX exports) for the whole run, not ~/.cache.
os.environ.setdefault("SYNTH_CACHE_DIR", tempfile.mkdtemp(prefix="synth-test-cache-"))

REPO = Path(__file__).resolve().parents[1]
REAL_FIXTURES = REPO.parent / "shared" / "fixtures" / "real"


@pytest.fixture
def real_fixtures() -> Path:
    """The real API samples in ../shared/fixtures/real (CI has them)."""
    if not REAL_FIXTURES.is_dir():
        pytest.skip(f"real API samples not found at {REAL_FIXTURES} (needs ../shared beside the repo)")
    return REAL_FIXTURES


@pytest.fixture
def project(tmp_path):
    from synth.project import init_project

    return init_project(tmp_path / "review")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A 1-layer, 64-wide sentence-transformers model (bench/corpus.py): for tests where the model is
    not the point (the pipeline around it is); the real model's tests are marked slow."""
    from bench.corpus import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"))
