"""Finds the model a user points at: the built-in one, a directory or pair of TOML files in the
built-in format, or USM-WIF files written by any tool."""

from __future__ import annotations

from pathlib import Path

from usm.model.errors import ModelError
from usm.model.io.wif import model_from_wif
from usm.model.loader import load_model, read_toml, reference_model
from usm.model.process_model import ProcessModel


def model_from_paths(paths: list[Path]) -> ProcessModel:
    if not paths:
        return reference_model()
    for path in paths:
        if not path.exists():
            raise ModelError(f"{path}: no such file or directory")
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        wif = sorted(folder.glob("*.json"))
        if (folder / "processes.toml").exists():
            return load_model(folder / "processes.toml", folder / "workflows.toml")
        if wif:
            return model_from_wif(wif)
        raise ModelError(f"{folder}: holds neither processes.toml nor USM-WIF (.json) files")
    suffixes = {p.suffix.lower() for p in paths}
    if suffixes == {".json"}:
        return model_from_wif(paths)
    if suffixes == {".toml"} and len(paths) == 2:
        processes = [p for p in paths if "process" in read_toml(p)]
        workflows = [p for p in paths if "workflow" in read_toml(p)]
        if len(processes) == 1 and len(workflows) == 1:
            return load_model(processes[0], workflows[0])
        raise ModelError(
            "give one TOML file with [[process]] tables and one with [[workflow]] tables"
        )
    raise ModelError(
        "give USM-WIF .json files, or a processes and a workflows .toml file, or a directory of them"
    )
