"""YAML parsing that remembers where every value came from.

PyYAML's node tree keeps line numbers; this module builds plain data from it and keeps the
tree so a configuration error can point at the line of the field it names. Duplicate keys,
which PyYAML silently resolves to the last one, are an error here.
"""

from __future__ import annotations

from typing import Any

import yaml

from vsa_stream.errors import ConfigError

__all__ = ["YamlDocument", "parse_yaml"]


class YamlDocument:
    """Parsed YAML data plus its node tree, to find the line of a path."""

    def __init__(self, data: Any, root: yaml.Node | None, source: str | None) -> None:
        self.data = data
        self.root = root
        self.source = source

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        """1-based line of the deepest part of ``path`` present in the document.

        A mapping key gives the line of the key, a list index the line of the item.
        """
        node = self.root
        if node is None:
            return None
        line: int = node.start_mark.line + 1
        for part in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == part:
                        child = value
                        line = key.start_mark.line + 1
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and 0 <= part < len(node.value)
            ):
                child = node.value[part]
                line = child.start_mark.line + 1
            if child is None:
                return line
            node = child
        return line


def parse_yaml(text: str, *, source: str | None = None) -> YamlDocument:
    """Parse one YAML document with the safe loader.

    Raises:
        ConfigError: YAML syntax errors (with their line) and duplicate keys.
    """
    try:
        loader = yaml.SafeLoader(text)  # checks the characters: may raise already
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=source) from None
    try:
        root = loader.get_single_node()
        if root is not None:
            _check_duplicates(root, source)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError(f"invalid YAML: {problem}", line=line, source=source) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=source) from None
    finally:
        loader.dispose()
    return YamlDocument(data, root, source)


def _check_duplicates(node: yaml.Node, source: str | None) -> None:
    """Duplicate keys are errors; so is an alias that contains itself (it would never end)."""
    stack: list[tuple[yaml.Node, frozenset[int]]] = [(node, frozenset())]
    while stack:
        current, ancestors = stack.pop()
        if id(current) in ancestors:
            raise ConfigError(
                "an alias refers to a node that contains it (recursive YAML)",
                line=current.start_mark.line + 1,
                source=source,
            )
        ancestors = ancestors | {id(current)}
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        raise ConfigError(
                            f"duplicate key {key.value!r}",
                            line=key.start_mark.line + 1,
                            source=source,
                        )
                    seen.add(key.value)
                stack.append((value, ancestors))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((item, ancestors) for item in current.value)
