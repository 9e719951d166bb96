"""Small git repositories for repository runs: written, committed, and read back exactly."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from tests.support.crew import crew_config

GIT = ["git", "-c", "user.name=tester", "-c", "user.email=tester@example.org"]

PRICING = '''def total(prices):
    """The sum of all prices."""
    return sum(prices[1:])
'''
PRICING_FIXED = PRICING.replace("sum(prices[1:])", "sum(prices)")
SHOP = {
    "app/__init__.py": "",
    "app/pricing.py": PRICING,
    "app/users.py": "def greet(name):\n    return f'hello {name}'\n",
    "app/inventory.py": "STOCK = {'apple': 3}\n\n\ndef in_stock(item):\n"
                        "    return STOCK.get(item, 0) > 0\n",
    "tests/test_pricing.py": "from app.pricing import total\n\n\ndef test_total():\n"
                             "    assert total([1, 2, 3]) == 6\n",
    "tests/test_users.py": "from app.users import greet\n\n\ndef test_greet():\n"
                           "    assert greet('ana') == 'hello ana'\n",
    "web/banner.js": "export function banner() {\n  return '';\n}\n",
    ".gitignore": ".env\n",
    # The shop's tests need none of the pytest plugins installed beside hybridcrew's own test
    # suite (hypothesis, schemathesis, langsmith's): unloaded, a check starts in 0.7 s, not 5.
    "pytest.ini": "[pytest]\naddopts = -p no:hypothesispytest -p no:schemathesis "
                  "-p no:langsmith_plugin\n",
}
"""A shop whose pricing test fails before any change (the crew's task is to fix it)."""


def make_repo(folder: Path, files: dict[str, str], branch: str = "main") -> Path:
    """A git repository at ``folder`` with ``files`` committed on ``branch``."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", branch, str(folder)], check=True)
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    subprocess.run([*GIT, "-C", str(folder), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(folder), "commit", "-q", "-m", "initial"], check=True)
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    """Every file of the working tree (not .git) by content hash, plus the current branch."""
    files = {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(folder.rglob("*")) if p.is_file() and ".git" not in p.parts}
    head = subprocess.run(["git", "-C", str(folder), "symbolic-ref", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    return {**files, "HEAD": head}


def edits(summary: str, *changes: tuple[str, str, str]) -> str:
    """An author's reply: edits as (path, search, replace)."""
    return json.dumps({"summary": summary, "edits": [
        {"path": p, "search": s, "replace": r} for p, s, r in changes]})


APPROVE_WITH_CHECKS = [{"match": "# Checks on the branch", "reply": json.dumps(
    {"parts": {"frontend": {"approved": True, "findings": []},
               "backend": {"approved": True, "findings": []}}})}]
"""QA approves only when the checks' results are in its prompt (else: the smallest verdict,
which approves nothing)."""


def repo_crew(*, backend: list[str] | str, frontend: str | None = None,
              **kwargs: object) -> dict[str, object]:
    """The scripted crew, its authors answering with edits (``backend``: replies in order)."""
    kwargs.setdefault("qa_rules", APPROVE_WITH_CHECKS)
    data = crew_config(**kwargs)  # type: ignore[arg-type]
    replies = backend if isinstance(backend, list) else [backend]
    frontend_reply = frontend or edits("banner text", (
        "web/banner.js", "return '';", "return 'Prices are correct now';"))
    models = data["models"]
    models["backend-author"] = {**models["author"], "model": "backend-author",
                                "endpoint": "backend-author",
                                "options": {"rules": [], "replies": replies}}
    models["author"]["options"]["rules"] = [
        {"match": "Your part: frontend", "reply": frontend_reply}]
    data["agents"]["backend"] = {"role": "You are a backend engineer.",
                                 "model": "backend-author"}
    return data
