"""Validation functions for registry gates in tests (imported by the validation worker)."""

from __future__ import annotations


def has_mlmodel(model_uri: str, version: dict):
    """Reads the store the server uses, through the SDK, as a real validation would."""
    import mlp

    paths = [a["path"] for a in mlp.get_run(version["run_id"]).artifacts]
    return True if f"{version['artifact']}/MLmodel" in paths else f"no MLmodel in {paths}"


def holdout_too_low(model_uri: str, version: dict):
    raise ValueError(f"accuracy of {model_uri} on the holdout set is 0.61, below 0.7")
