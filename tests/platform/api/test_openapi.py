"""The OpenAPI document describes every response of the ``/v1`` and ``/openai/v1`` APIs."""

from __future__ import annotations

from typing import Any

from hybridcrew.platform.api import create_app
from hybridcrew.settings import load_settings


def _successes(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(f"{method.upper()} {path}", code, answer)
            for path, item in spec["paths"].items() if path.startswith(("/v1/", "/openai/v1/"))
            for method, operation in item.items()
            # 204 No Content has no body to describe.
            for code, answer in operation["responses"].items()
            if code.startswith("2") and code != "204"]


def test_every_v1_success_has_a_schema() -> None:
    spec = create_app(load_settings()).openapi()
    described = _successes(spec)
    assert len(described) >= 13
    for operation, code, answer in described:
        content = answer.get("content", {})
        assert content, f"{operation} {code} has no content"
        for media, body in content.items():
            assert body.get("schema"), f"{operation} {code} {media} has no schema"


def test_typed_responses_name_their_fields() -> None:
    schemas = create_app(load_settings()).openapi()["components"]["schemas"]
    assert {"models", "gpu"} <= set(schemas["Inventory"]["properties"])
    assert {"model", "reasons", "rejected", "findings"} <= set(
        schemas["DecisionRecord"]["properties"])
    steps = schemas["RunDetail"]["properties"]["steps"]
    assert steps["items"] == {"$ref": "#/components/schemas/StepDetail"}
    assert {"cost_usd", "decision"} <= set(schemas["StepDetail"]["properties"])
    assert set(schemas["RunStatus"]["enum"]) == {
        "queued", "running", "waiting", "finished", "failed", "blocked", "cancelled"}
