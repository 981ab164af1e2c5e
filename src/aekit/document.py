"""Small JSON and YAML documents a user writes (a --config, a search space), read bounded.

The one reader of such files: their size, nesting, YAML alias expansion and
numbers are bounded before anything is built from them, and a message quotes
at most a short piece of them. What the document must hold is its caller's
business (`aekit.cli.config`, `aekit.search.space`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .errors import DocumentError

MAX_BYTES = 2**20  # a document beyond 1 MiB is not a few options
MAX_VALUES = 10_000  # values a document may expand to, YAML aliases in full
MAX_DIGITS = 400  # no value takes a longer number
SUFFIXES = (".json", ".yaml", ".yml")


def read_document(path: str | os.PathLike[str], kind: str, holds: str) -> Any:
    """The parsed JSON or YAML of `path`, or DocumentError naming the file.

    `kind` names the file in messages ("config", "search space"); `holds`
    says what such a file holds ("a config holds a few options").
    """
    p = Path(path)
    if not p.is_file():
        raise DocumentError(
            f"{kind} file {p} " + ("is a folder" if p.is_dir() else "does not exist")
        )
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise DocumentError(f"{kind} file {p} must end in .json, .yaml or .yml")
    with open(p, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise DocumentError(f"{p} is larger than {MAX_BYTES // 2**20} MiB; {holds}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DocumentError(f"{p} is not UTF-8 text") from None
    long_number = re.search(rf"\d{{{MAX_DIGITS + 1},}}", text)
    if long_number:
        line = text.count("\n", 0, long_number.start()) + 1
        raise DocumentError(
            f"{p}: line {line} holds a number of {len(long_number.group()):,} digits; "
            "no option takes such a value"
        )
    try:
        return _json(p, text) if suffix == ".json" else _yaml(p, text, kind, holds)
    except RecursionError:
        raise DocumentError(f"{p} is nested too deeply; {holds}") from None


def cut(text: str, k: int) -> str:
    """`text` cut to `k` characters, saying how long it was."""
    return text if len(text) <= k else f"{text[: k - 3]}... ({len(text):,} characters)"


def _json(p: Path, text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError as e:
        raise DocumentError(f"{p} is not valid JSON: {cut(str(e), 200)}") from None


def _yaml(p: Path, text: str, kind: str, holds: str) -> Any:
    """Safe YAML (no tags that build objects), its alias expansion bounded."""
    try:
        import yaml
    except ImportError:
        raise DocumentError(
            f"reading {p} needs PyYAML: pip install aekit[yaml] (or use a .json "
            f"{kind})"
        ) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(p, node, holds)
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        raise DocumentError(f"{p} is not valid YAML: {cut(str(e), 300)}") from None
    except ValueError as e:
        raise DocumentError(
            f"{p} holds a value that cannot be read: {cut(str(e), 200)}"
        ) from None
    finally:
        loader.dispose()


def _check_expansion(p: Path, root: Any, holds: str) -> None:
    """Refuse a YAML document that expands (aliases in full) beyond MAX_VALUES.

    Sizes are counted once per node, so an alias bomb is measured, not expanded.
    """
    import yaml

    size: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        if not children_done:
            if id(node) in size:
                continue
            if id(node) in open_nodes:
                raise DocumentError(f"{p} holds an alias that refers to itself")
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
            continue
        open_nodes.discard(id(node))
        size[id(node)] = 1 + sum(size[id(c)] for c in children)
        if size[id(node)] > MAX_VALUES:
            raise DocumentError(
                f"{p} expands to more than {MAX_VALUES:,} values (YAML aliases "
                f"counted in full); {holds}"
            )
