"""environment.yml installs exactly what pyproject.toml pins."""

import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def pyproject_pins() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        pins.update(extra)
    return pins


def conda_environment() -> dict:
    return yaml.safe_load((REPO / "environment.yml").read_text())


def test_every_dependency_is_pinned_exactly():
    loose = [pin for pin in pyproject_pins() if "==" not in pin]
    assert not loose, f"pin these with == in pyproject.toml: {loose}"


def test_environment_yml_pins_the_same_packages_as_pyproject():
    env = conda_environment()
    assert env["name"] == "lstm-course"
    conda_deps = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda_deps and "pip" in conda_deps
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = {line for line in pip_section if not line.startswith("-")}
    missing = pyproject_pins() - pins
    extra = pins - pyproject_pins()
    assert not missing and not extra, (
        f"environment.yml and pyproject.toml disagree: only in pyproject {missing}, "
        f"only in environment.yml {extra}"
    )
    assert "--editable ." in pip_section, "environment.yml must install the course"
