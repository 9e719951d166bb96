"""A small MCP server for the tests (stdio): search a folder's files; a tool that never answers.

Run as ``python tests/support/mcp_files_server.py`` with ``FILES_ROOT`` set to the folder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from mcp.server.mcpserver import MCPServer

server = MCPServer("files")


@server.tool()
def search_files(query: str) -> str:
    """Lines of the folder's files that contain ``query``, as ``path:line: text``."""
    root = Path(os.environ["FILES_ROOT"])
    found = [f"{path.relative_to(root)}:{number}: {line}"
             for path in sorted(root.rglob("*")) if path.is_file()
             for number, line in enumerate(path.read_text().splitlines(), 1) if query in line]
    return "\n".join(found) or "no match"


@server.tool()
def wait_forever(reason: str) -> str:
    """Never answers in time (for timeout tests)."""
    time.sleep(3600)
    return reason


if __name__ == "__main__":
    server.run()
