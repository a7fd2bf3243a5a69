"""Shared test hygiene."""

import os

import pytest
import torch
from postgres import postgres  # noqa: F401 (the session's PostgreSQL server)

# The suite reads English unless a test asks for another language (or a notebook is
# of another edition): a Korean locale on the tester's machine must not change it.
for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LSTM_COURSE_LANG"):
    os.environ.pop(name, None)
os.environ["LANG"] = "C.UTF-8"


@pytest.fixture(autouse=True)
def restore_torch_defaults():
    """Tests that run notebook cells in-process may set torch's default dtype (the
    masters use float64); give every test the default it expects."""
    dtype = torch.get_default_dtype()
    yield
    torch.set_default_dtype(dtype)
