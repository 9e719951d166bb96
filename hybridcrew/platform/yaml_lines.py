"""Map dotted key paths of a YAML document to line numbers, for error messages."""

from __future__ import annotations

import yaml


def line_index(text: str) -> dict[str, int]:
    """``{"agents.qa.model": 42, "agents.qa.candidates[0]": 43, ...}`` (1-based lines)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    index: dict[str, int] = {}
    _walk(root, "", index)
    return index


def _walk(node: yaml.Node | None, path: str, index: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = f"{path}.{key_node.value}" if path else str(key_node.value)
            index[child] = key_node.start_mark.line + 1
            _walk(value_node, child, index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = f"{path}[{i}]"
            index[child] = item.start_mark.line + 1
            _walk(item, child, index)


def nearest_line(index: dict[str, int], path: str) -> int | None:
    """The line of ``path``, or of its closest ancestor present in the document."""
    while path:
        if path in index:
            return index[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None
