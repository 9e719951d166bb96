"""What the deploy files are checked against: the app's routes and the settings it reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridcrew.platform.api import create_app
from hybridcrew.settings import load_settings
from tests.support.configs import config_from
from tests.support.crew import crew_config

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="session")
def app_paths(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every path the gateway documents (its OpenAPI schema lists each route)."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("app"), memory=False)
    app = create_app(settings, config_from(crew_config()))
    return set(app.openapi()["paths"])
