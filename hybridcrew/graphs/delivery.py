"""The built-in software-delivery workflow.

The CTO plans, splitting the task into frontend and backend work with acceptance criteria;
frontend and backend work in parallel; QA reviews both against the plan and returns a verdict
per part; a failing part goes back to its author with QA's findings, for at most two reviews;
then the report.
"""

from __future__ import annotations

from hybridcrew.graphs.workflow import NodeSpec, ReviewSpec, WorkflowSpec


def delivery_workflow() -> WorkflowSpec:
    """Plan, then frontend and backend in parallel, then QA in a loop, then the report."""
    return WorkflowSpec(
        name="delivery",
        description="CTO plans; frontend and backend build in parallel; QA reviews in a loop.",
        nodes={
            "plan": NodeSpec(agent="cto", kind="plan"),
            "frontend": NodeSpec(agent="frontend", depends_on=["plan"]),
            "backend": NodeSpec(agent="backend", depends_on=["plan"]),
            "qa": NodeSpec(agent="qa", kind="review", depends_on=["frontend", "backend"]),
        },
        review=ReviewSpec(reviewer="qa", authors=["frontend", "backend"], max_rounds=2),
    )
