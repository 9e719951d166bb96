"""Tools agents may call: MCP servers (``mcp_servers:`` in hybridcrew.yaml) and grants to agents.

An agent lists the servers it may use and, for each, the tools by name (never "all": a server
that gains a tool does not hand it to every agent). Header and environment values may name the
gateway's environment variables as ``${NAME}``, so tokens stay out of the file.
"""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from hybridcrew.documents import StrictModel

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""``${NAME}``: a value taken from the environment when the server is reached."""


class McpServerSpec(StrictModel):
    """One entry of ``mcp_servers:``: a program started over stdio, or a streamable HTTP URL."""

    command: str | None = Field(None, description="stdio: the program to start")
    args: list[str] = Field(default_factory=list, description="stdio: its arguments")
    env: dict[str, str] = Field(default_factory=dict,
                                description="stdio: its environment (${NAME} allowed)")
    url: str | None = Field(None, description="streamable HTTP: the server's URL")
    headers: dict[str, str] = Field(default_factory=dict,
                                    description="HTTP headers (${NAME} allowed)")
    timeout_s: float = Field(30.0, gt=0, le=600,
                             description="one tool call, start to result (then it is an error)")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (stdio) or url (streamable HTTP)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self


class ToolGrant(StrictModel):
    """Tools of one MCP server an agent may call."""

    server: str = Field(description="a name under mcp_servers:")
    tools: list[str] = Field(min_length=1, description="the tools' names on that server")
