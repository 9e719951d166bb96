"""``ChatOpenAI`` that hands the chat-completions body to the openai SDK untyped.

Before sending, the openai SDK walks every request parameter against its ``TypedDict``
annotations (``_transform``): measured with openai 3.57, 0.44 ms of CPU for a two-message call
and ~0.17 ms more per message (9 ms for the 50 messages of a coding tool's session), on the event
loop that serves every other step and proxied call. For chat completions that walk changes
nothing: their parameters have no aliases and no formats. Given as ``extra_body`` (which the SDK
merges into the JSON body over the typed parameters), the same body goes out without the walk.

Imported on demand: langchain-openai is a heavy import.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_openai import ChatOpenAI

SDK_ARGUMENTS = frozenset({"model", "stream", "response_format", "extra_headers", "extra_query",
                           "extra_body", "timeout"})
"""Arguments the SDK acts on itself (the reply's type, parsing, the HTTP request): kept."""


def untyped_body(payload: dict[str, Any]) -> dict[str, Any]:
    """The SDK arguments of ``payload`` with every body parameter moved into ``extra_body``.

    ``messages`` stays as an empty list (the SDK requires the argument); the real list goes in
    ``extra_body``, which wins the merge. A structured call keeps ``tools`` too: the SDK's
    ``parse`` reads them to parse strict tool calls. A Responses API payload (no
    ``messages``) is returned as it is.
    """
    if "messages" not in payload:
        return payload
    kept = SDK_ARGUMENTS | ({"tools"} if "response_format" in payload else set())
    request = {key: value for key, value in payload.items() if key in kept}
    body = {key: value for key, value in payload.items() if key not in kept}
    request["messages"] = []
    # What the caller put in extra_body overrode the typed parameters before: it still does.
    request["extra_body"] = {**body, **(payload.get("extra_body") or {})}
    return request


class UntypedChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` whose requests skip the SDK's per-parameter type walk (same JSON body)."""

    def _get_request_payload(self, input_: LanguageModelInput, *, stop: list[str] | None = None,
                             **kwargs: Any) -> dict[str, Any]:
        return untyped_body(super()._get_request_payload(input_, stop=stop, **kwargs))
