"""``ChatOpenAI`` that sends the body langchain-openai builds, for less CPU per call.

Two costs that grow with the conversation, both for a request body they leave unchanged:

- The openai SDK walks every request parameter against its ``TypedDict`` annotations before
  sending (``_transform``): measured with openai 3.57, 0.44 ms of CPU for a two-message call and
  ~0.17 ms more per message or tool, on the event loop that serves every other step and proxied
  call. Chat-completion parameters have no aliases and no formats, so the walk changes nothing:
  given as ``extra_body`` (which the SDK merges into the JSON body over the typed parameters),
  the same body goes out without it.
- langchain-openai looks for audio blocks in an assistant message's content by iterating it,
  which for text means character by character: 158 us per 4 KB reply (langchain-openai 1.7.4).
  The text is left out of that conversion and put back into the converted message as it was.

Imported on demand: langchain-openai is a heavy import.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
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


def _replies(messages: list[BaseMessage]) -> dict[int, str]:
    """The assistant messages whose content is text, by position."""
    return {i: m.content for i, m in enumerate(messages)
            if isinstance(m, AIMessage) and isinstance(m.content, str) and m.content}


class UntypedChatOpenAI(ChatOpenAI):
    """``ChatOpenAI`` that sends the same JSON body with less work (see the module)."""

    def _get_request_payload(self, input_: LanguageModelInput, *, stop: list[str] | None = None,
                             **kwargs: Any) -> dict[str, Any]:
        messages = self._convert_input(input_).to_messages()
        replies = _replies(messages)
        emptied = [m.model_copy(update={"content": ""}) if i in replies else m
                   for i, m in enumerate(messages)]
        payload = super()._get_request_payload(emptied, stop=stop, **kwargs)
        if "messages" not in payload:  # the Responses API's own conversion: left to it whole
            return super()._get_request_payload(messages, stop=stop, **kwargs)
        for i, text in replies.items():
            payload["messages"][i]["content"] = text
        return untyped_body(payload)
