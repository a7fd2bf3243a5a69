"""Check helpers that test cells call: one module per notebook, built on `core`."""
