"""The workflows a run can name: the built-in delivery workflow, packaged YAML ones, or a file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from hybridcrew.errors import ConfigError
from hybridcrew.graphs.delivery import delivery_workflow
from hybridcrew.graphs.workflow import WorkflowSpec, parse_workflow, validate_workflow
from hybridcrew.routing.config import LoadedConfig

BUILTIN = "delivery"


def available_workflows() -> list[str]:
    """The built-in workflow and the packaged YAML ones."""
    folder = resources.files("hybridcrew.graphs").joinpath("workflows")
    packaged = sorted(p.name.removesuffix(".yaml") for p in folder.iterdir()
                      if p.name.endswith(".yaml"))
    return [BUILTIN, *packaged]


def load_workflow(name_or_path: str, config: LoadedConfig) -> tuple[WorkflowSpec, LoadedConfig]:
    """A validated workflow and the configuration extended with the agents it declares."""
    if name_or_path == BUILTIN:
        spec, source = delivery_workflow(), "<built-in delivery workflow>"
        return spec, validate_workflow(spec, config, source, {})
    path = Path(name_or_path)
    packaged = resources.files("hybridcrew.graphs").joinpath("workflows", f"{name_or_path}.yaml")
    if path.suffix in {".yaml", ".yml"} and path.is_file():
        text, source = path.read_text("utf-8"), str(path)
    elif packaged.is_file():
        text, source = packaged.read_text("utf-8"), f"<workflow {name_or_path}>"
    else:
        raise ConfigError.single("--workflow", "", "no such workflow",
                                 "use one of: " + ", ".join(available_workflows())
                                 + ", or a path to a .yaml file")
    return parse_workflow(text, source, config)
