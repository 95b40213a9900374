"""YAML and JSON text to Python data, with bounds on the work one document can cause.

:func:`parse_documents` reads the documents of a text (a JSON value, or a YAML
stream) for :func:`~fastsched.kube.manifests.load_manifests`. It refuses, with a
:class:`~fastsched.errors.ManifestError` naming the source, the document's index
and the line (YAML) or the path inside the document (JSON and limits found after
parsing):

* **duplicate keys** in a mapping (the API server's strict decoding refuses them
  too; PyYAML and ``json`` would keep the last one silently). YAML merge keys
  (``<<: *base``) still work: explicit keys override merged ones, as YAML says;
* **nesting** deeper than :data:`MAX_DEPTH` mappings and lists;
* **alias expansion**: a YAML document whose aliases, expanded, would stand for more
  than ``max(MIN_EXPANSION, EXPANSION_RATIO * values written)`` values (the
  "billion laughs" attack, CVE-2019-11253 against the API server), and aliases
  that refer to themselves (a recursive structure);
* **integers** of more than :data:`MAX_INT_DIGITS` digits (no Kubernetes field holds
  more than 20), and explicitly tagged scalars that do not read as their tag
  (``!!int abc``).

Dicts and lists given to ``load_manifests`` directly are held to the depth limit
and must not contain themselves (see :func:`check_structure`). Parsing uses libyaml
(PyYAML's C parser) where it is available; ``bench/bench_manifests.py`` measures what
the checks cost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode

from .errors import ManifestError

__all__ = ["parse_documents", "check_structure", "MAX_DEPTH", "MAX_INT_DIGITS",
           "MIN_EXPANSION", "EXPANSION_RATIO"]

MAX_DEPTH = 200
"""The deepest nesting of mappings and lists a document may have. A pod's deepest
field (a node-affinity value, inside a template, inside a ``List``) is about 15
levels down; schemas in CustomResourceDefinitions nest deeper, hence the margin.
libyaml itself stops at 1,000 levels and ``json`` at the interpreter's recursion
limit (also about 1,000), with less useful errors."""

MAX_INT_DIGITS = 30
"""The most digits an integer may have. Kubernetes integers are int64 (19 digits)
at most; Python refuses to read more than 4,300 digits with an internal error, and
reading a long one takes time quadratic in its length."""

MIN_EXPANSION = 10_000
EXPANSION_RATIO = 10
"""A YAML document may stand for at most ``max(MIN_EXPANSION, EXPANSION_RATIO *
values written)`` values once its aliases are expanded. Everything downstream
(expanding ``List`` items, reading pods) walks the expanded document, so this
keeps its work proportional to the text's length: a 1 KB bomb of nested aliases
would otherwise stand for 10**9 pods."""

_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml, if built with it
_MERGE = "tag:yaml.org,2002:merge"


def _loader_class(base: type) -> type:
    """PyYAML's safe loader ``base`` (libyaml's or the pure-Python one) with duplicate
    keys, long integers and unreadable tagged scalars refused, with their line."""

    class Loader(base):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self._checked: set[int] = set()

        def construct_document(self, node: Any) -> Any:
            try:
                return super().construct_document(node)
            finally:   # the next document's nodes may reuse these ids
                self._checked.clear()

        def flatten_mapping(self, node: MappingNode) -> None:
            # Every mapping is flattened (merge keys resolved, in place) before it is
            # constructed or merged into another, so this sees its pairs as written.
            if id(node) not in self._checked:
                self._checked.add(id(node))
                _refuse_duplicates(node)
            super().flatten_mapping(node)

    Loader.add_constructor("tag:yaml.org,2002:int", _guarded(_construct_int, "int"))
    for tag in ("float", "bool", "timestamp", "binary"):
        Loader.add_constructor(f"tag:yaml.org,2002:{tag}", _guarded(
            getattr(yaml.constructor.SafeConstructor, f"construct_yaml_{tag}"), tag))
    return Loader


def _refuse_duplicates(node: MappingNode) -> None:
    pairs = node.value
    if len(pairs) < 2:
        return
    try:        # the common case, all keys distinct, in one set comprehension
        if len({(key.tag, key.value) for key, _ in pairs}) == len(pairs):
            return
    except TypeError:   # a non-scalar key (its value is a list): look pair by pair
        pass
    seen: dict[tuple[str, str], Any] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE:
            continue      # a non-scalar key is refused by the constructor (unhashable)
        key = (key_node.tag, key_node.value)
        first = seen.get(key)
        if first is not None:
            raise ConstructorError("while constructing a mapping", node.start_mark,
                                   f"found duplicate key {key_node.value!r} (first at line "
                                   f"{first.line + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark


def _guarded(construct: Any, tag: str) -> Any:
    """A scalar constructor that reports a value it cannot read as a YAML error (PyYAML
    lets ``ValueError``, ``KeyError``... escape for ``!!int abc`` or ``!!bool maybe``)."""
    def guarded(loader: Any, node: Any) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, LookupError, AttributeError, TypeError, OverflowError):
            raise ConstructorError(None, None, f"cannot read {str(node.value)[:40]!r} as !!{tag}",
                                   node.start_mark) from None
    return guarded


def _construct_int(loader: Any, node: Any) -> Any:
    value = node.value
    if isinstance(value, str) and len(value) > MAX_INT_DIGITS:
        digits = sum(c.isdigit() for c in value)
        if digits > MAX_INT_DIGITS:
            raise ConstructorError(None, None, f"integer of {digits} digits: at most "
                                   f"{MAX_INT_DIGITS} are accepted", node.start_mark)
    return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)


_Loader = _loader_class(_BASE_LOADER)


def _yaml_message(err: yaml.YAMLError) -> str:
    """``invalid YAML at line L, column C: problem (context)``."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"invalid YAML{where}: {problem}" + (f" ({context})" if context else "")


# -- JSON ---------------------------------------------------------------------------------


class _Duplicated(dict):
    """A JSON object that had a key twice (``key``); refused by check_structure, which
    knows its path."""

    key: str


def _json_object(pairs: list[tuple[str, Any]]) -> dict:
    data = dict(pairs)
    if len(data) == len(pairs):
        return data
    marked = _Duplicated(data)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            marked.key = key
            break
        seen.add(key)
    return marked


class _LongInt(ValueError):
    pass


def _json_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS + 1 and len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _LongInt(text)
    return int(text)


def _parse_json(text: str, label: str) -> Any:
    """The JSON value of ``text`` (``JSONDecodeError`` if it is not JSON); objects with
    a duplicate key come back as ``_Duplicated``."""
    try:
        return json.loads(text, object_pairs_hook=_json_object, parse_int=_json_int)
    except _LongInt as err:
        digits = len(str(err.args[0]).lstrip("-"))
        # json.loads gives no position: the first place the digits occur (almost
        # always the integer itself)
        line = text.count("\n", 0, max(text.find(err.args[0]), 0)) + 1
        raise ManifestError(f"integer of {digits} digits at line {line}: at most "
                            f"{MAX_INT_DIGITS} are accepted", source=label) from None
    except RecursionError:
        raise ManifestError(f"JSON nested too deeply (more than {MAX_DEPTH} levels are "
                            "refused)", source=label) from None


# -- the text of one source ---------------------------------------------------------------


def parse_documents(text: str, label: str) -> Iterator[tuple[str, int, Any]]:
    """``(label, index, document)`` for each document of ``text`` (JSON if it starts
    like JSON and parses as JSON, else a YAML stream), each checked by
    :func:`check_structure`. Raises ManifestError naming ``label``."""
    if text.lstrip().startswith(("{", "[")):
        # JSON: the json module is faster, and accepts tabs that YAML refuses.
        try:
            data = _parse_json(text, label)
        except json.JSONDecodeError as err:
            json_error = err
        else:
            check_structure(data, label, 0, origin="tree")
            yield label, 0, data
            return
        # A YAML flow mapping such as "{kind: Node, ...}"; text that is neither is
        # reported with the JSON error.
        docs = list(_load_yaml(text, label, json_error))
        yield from ((label, i, doc) for i, doc in enumerate(docs))
        return
    for i, doc in enumerate(_load_yaml(text, label)):
        yield label, i, doc


def _load_yaml(text: str, label: str, json_error: json.JSONDecodeError | None = None,
               ) -> Iterator[Any]:
    loader = _Loader(text)
    # An alias is written "*name" and needs an anchor "&name": a text without both
    # shares nothing, and the cheaper walk of a tree will do.
    origin = "yaml" if "&" in text and "*" in text else "tree"
    index = 0
    try:
        while loader.check_data():
            doc = loader.get_data()
            check_structure(doc, label, index, origin=origin)
            yield doc
            index += 1
    except yaml.YAMLError as err:
        if json_error is not None and not isinstance(err, ConstructorError):
            raise ManifestError(f"invalid JSON at line {json_error.lineno}, column "
                                f"{json_error.colno}: {json_error.msg}", source=label) from None
        raise ManifestError(_yaml_message(err), source=label, index=index) from None
    except RecursionError:   # the pure-Python parser, without libyaml, recurses
        raise ManifestError(f"YAML nested too deeply (more than {MAX_DEPTH} levels are "
                            "refused)", source=label, index=index) from None
    finally:
        loader.dispose()


# -- limits on parsed data ----------------------------------------------------------------


def check_structure(data: Any, source: str, index: int = 0, *, origin: str = "yaml") -> None:
    """Refuse a document nested deeper than MAX_DEPTH, holding itself, or holding a JSON
    object with a duplicate key. ``origin`` says what may be shared in it: nothing
    (``"tree"``: fresh from ``json.loads``, or YAML without aliases), YAML aliases
    (``"yaml"``: the expanded size is bounded too) or any Python references
    (``"python"``: the caller's own objects, shared as the caller likes). Raises
    ManifestError with the path."""
    if isinstance(data, (Mapping, list, tuple)):
        if origin == "tree":
            _check_tree(data, source, index)
        else:
            _check_shared(data, source, index, bounded=origin == "yaml")


def _check_tree(root: Any, source: str, index: int) -> None:
    """Depth and duplicate keys of a tree (nothing in it is shared)."""
    if type(root) is _Duplicated:
        raise ManifestError(f"duplicate key {root.key!r}", source=source, index=index)
    stack = [(root, 1)]
    while stack:
        container, depth = stack.pop()
        for child in (container.values() if isinstance(container, dict) else container):
            kind = type(child)
            if kind is dict or kind is list:
                if depth >= MAX_DEPTH:
                    _fail(root, child, source, index, f"nested more than {MAX_DEPTH} levels deep")
                stack.append((child, depth + 1))
            elif kind is _Duplicated:
                _fail(root, child, source, index, f"duplicate key {child.key!r}")


def _check_shared(root: Any, source: str, index: int, bounded: bool) -> None:
    """Depth, self-reference and (``bounded``) expanded size of data whose parts may be
    shared.

    One pass over the distinct mappings and lists, iteratively; a shared one is
    walked once and its expanded size and height remembered.
    """
    memo: dict[int, tuple[int, int]] = {}    # id -> (expanded size, height)
    active = {id(root)}
    written = 1
    # frames: [container, iterator over its values, expanded size so far, height below]
    stack: list[list[Any]] = [[root, _values(root), 1, 0]]
    while stack:
        frame = stack[-1]
        for child in frame[1]:
            kind = type(child)
            if not (kind is dict or kind is list) and (
                    kind is str or not isinstance(child, (Mapping, list, tuple))):
                frame[2] += 1         # a scalar
                written += 1
                continue
            key = id(child)
            known = memo.get(key)
            if known is not None:
                size, height = known
                if len(stack) + height > MAX_DEPTH:
                    _fail(root, child, source, index, f"nested more than {MAX_DEPTH} levels "
                          "deep (through an alias)")
                frame[2] += size
                if height > frame[3]:
                    frame[3] = height
                continue
            if key in active:
                _fail(root, child, source, index, "an alias refers to a mapping or list that "
                      "contains it (a recursive structure)")
            if len(stack) >= MAX_DEPTH:
                _fail(root, child, source, index, f"nested more than {MAX_DEPTH} levels deep")
            written += 1
            active.add(key)
            stack.append([child, _values(child), 1, 0])
            break
        else:
            stack.pop()
            done, size, height = frame[0], frame[2], frame[3] + 1
            active.discard(id(done))
            memo[id(done)] = (size, height)
            if stack:
                stack[-1][2] += size
                if height > stack[-1][3]:
                    stack[-1][3] = height
            elif bounded and size > max(MIN_EXPANSION, EXPANSION_RATIO * written):
                raise ManifestError(
                    f"aliases expand the document to {_count(size)} values from {written:,} "
                    f"written (at most max({MIN_EXPANSION:,}, {EXPANSION_RATIO} x written) "
                    "are accepted)", source=source, index=index)


def _values(container: Any) -> Iterator[Any]:
    return iter(container.values() if isinstance(container, Mapping) else container)


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"about 10^{len(str(n)) - 1}"


def _fail(root: Any, target: Any, source: str, index: int, message: str) -> None:
    """Raise ManifestError with the (first) path from ``root`` to ``target``."""
    seen = {id(root)}
    stack: list[tuple[Any, str]] = [(root, "")]
    path = ""
    while stack:
        container, where = stack.pop()
        items = (container.items() if isinstance(container, Mapping)
                 else enumerate(container))
        for key, child in items:
            if isinstance(container, Mapping):
                step = (f".{key}" if isinstance(key, str) and key.isidentifier()
                        else f"[{key!r}]")
            else:
                step = f"[{key}]"
            if child is target:
                path = where + step
                stack.clear()
                break
            if isinstance(child, (Mapping, list, tuple)) and id(child) not in seen:
                seen.add(id(child))
                stack.append((child, where + step))
    path = path.lstrip(".")
    if len(path) > 120:     # a path through hundreds of levels: its two ends say enough
        path = f"{path[:50]}...{path[-50:]}"
    raise ManifestError(message, source=source, index=index, field=path)
