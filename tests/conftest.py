"""Shared test hygiene."""

import pytest
import torch
from postgres import postgres  # noqa: F401 (the session's PostgreSQL server)


@pytest.fixture(autouse=True)
def restore_torch_defaults():
    """Tests that run notebook cells in-process may set torch's default dtype (the
    masters use float64); give every test the default it expects."""
    dtype = torch.get_default_dtype()
    yield
    torch.set_default_dtype(dtype)
