"""What each kind of step is asked to do, when a workflow node gives no prompt of its own.

The plan and the review answer in the structured shapes of :mod:`hybridcrew.graphs.schemas`;
an implementation answers with fenced code blocks, each after a line naming its file.
"""

from __future__ import annotations

from typing import Literal

StepKind = Literal["plan", "implement", "review"]
"""Plan: split the task; implement: deliver a part; review: judge parts against the plan."""

STEP_INSTRUCTIONS: dict[StepKind, str] = {
    "plan": ("Split the task into these parts: {parts}. For each part give a one-sentence goal and "
             "one to five testable acceptance criteria. Keep it short."),
    "implement": ("Implement your part. Put each file in a fenced code block, with the file's "
                  "path alone on the line just before the block. Be brief outside the code."),
    "review": ("Review each part against its acceptance criteria. Approve a part only if it "
               "meets them; otherwise list concrete findings the author can fix."),
}
"""The instruction per step kind; ``{parts}`` is the list of parts the plan splits into."""

REPO_INSTRUCTIONS: dict[StepKind, str] = {
    "plan": ("Split the task into these parts: {parts}, for the repository whose map and most "
             "relevant files are above. For each part give a one-sentence goal naming the files "
             "to change, and one to five testable acceptance criteria. Keep it short."),
    "implement": ("Change the repository to deliver your part. Answer with edits: for each, the "
                  "file's path, the exact text to replace (copied from the file above, with "
                  "enough lines to occur exactly once; empty to create a new file) and its "
                  "replacement. Change nothing else."),
    "review": ("Review each part against its acceptance criteria, using the changes and the "
               "results of the repository's checks above. A part whose checks fail cannot be "
               "approved; otherwise list concrete findings the author can fix."),
}
"""The instruction per step kind on a repository run (authors answer with edits)."""
