"""`vevents.spec` is the only reader of YAML and the only follower of `$ref`s (issue 12), and
the only matcher of Graph's paths (issue 21).

Every other module asks it (`contract()`, `load_spec`, `parse_yaml`, `load_yaml_file`,
`resolve`, `ref_of`, `Contract.route`), so that the spec is parsed one way, no fact of it is
dug out by a key path of its own and one request is never classified twice by different rules.
The tree is grepped: a new `yaml.safe_load`, `node["$ref"]` or hand-written regex of the Graph
routes outside spec/ fails here with the file and line to change.
"""

from __future__ import annotations

import ast
import functools
import os
import re
from pathlib import Path

import pytest

from vevents.spec import DocumentError, SpecDocument, contract, load_yaml_file, parse_yaml, resolve

ROOT = Path(__file__).resolve().parent.parent
_SKIPPED = {".venv", "node_modules", "build", ".git", "spec"}
# Reading YAML (writing it with safe_dump is fine: tests build broken specs that way).
_YAML_READ = re.compile(
    r"\byaml\.(?:safe_load|load|full_load|unsafe_load|load_all|safe_load_all|parse|compose)\b"
    r"|\bfrom yaml import\b|Loader="
)
# Following a reference by hand: indexing a node by "$ref" or asking it for one.
_REF_FOLLOW = re.compile(r"""\[\s*["']\$ref["']\s*\]|\.get\(\s*["']\$ref["']""")


@functools.cache
def _python_files() -> tuple[Path, ...]:
    # os.walk, pruned: rglob would descend into .venv and node_modules (tens of thousands of files) first.
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in _SKIPPED and not name.startswith(".")]
        found += [Path(folder) / name for name in files if name.endswith(".py") and name != Path(__file__).name]
    return tuple(found)


def _offenders(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for path in _python_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_the_tree_is_searched() -> None:
    names = {str(p.relative_to(ROOT)) for p in _python_files()}
    assert {"server/app.py", "vevents/traffic.py", "conformance/checks/cancel.py", "tests/conftest.py"} <= names
    assert not any(name.startswith("spec/") for name in names)


def test_no_yaml_is_read_outside_vevents_spec() -> None:
    assert _offenders(_YAML_READ) == [], "read YAML with vevents.spec.parse_yaml / load_yaml_file / load_spec"


def test_no_ref_is_followed_outside_vevents_spec() -> None:
    assert _offenders(_REF_FOLLOW) == [], "follow $refs with vevents.spec.resolve (or ask contract())"


@functools.cache
def _route_segment() -> re.Pattern[str]:
    """A fixed segment of one of the contract's paths (`virtualEvents`, `webinars`, `cancel`,
    `getByUserRole`, ...) standing as a path segment or an alternative of a group: after a `/`
    (or an escaped one), `(`, `|`, a group's name or the start, and before a `/`, `|`, `)`, a
    word's end or the end."""
    segments = {
        segment.split("(")[0]
        for op in contract().operations
        for segment in op.path.split("/")
        if segment and not segment.startswith("{")
    }
    alternatives = "|".join(re.escape(segment) for segment in sorted(segments, key=len, reverse=True))
    return re.compile(rf"(?:^|[/(|>])(?:{alternatives})(?:[/|)]|\\/|\b|$)")


# Regular-expression syntax: a string holding a route segment and one of these is a path pattern.
_REGEX_SYNTAX = re.compile(r"\(\?P<|\[\^|\\[wdsS]|\[0-9a-f|\.\*|\.\+|\(\?:")
_RE_FUNCTIONS = {"compile", "match", "fullmatch", "search", "sub", "subn", "findall", "finditer", "split"}


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def route_regexes(source: str) -> list[tuple[int, str]]:
    """(line, text) of each hand-written pattern of the Graph routes in `source`: the pattern of
    a `re.compile`/`re.match`/... call (its pieces joined, f-strings too) naming a route segment,
    or any string naming one in regular-expression syntax (a pattern kept for later)."""
    found: list[tuple[int, str]] = []
    segment = _route_segment()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"re", "regex"}
            and node.func.attr in _RE_FUNCTIONS
            and node.args
        ):
            pattern = "".join(_strings(node.args[0]))
            if segment.search(pattern):
                found.append((node.lineno, pattern))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and segment.search(node.value)
            and _REGEX_SYNTAX.search(node.value)
        ):
            found.append((node.lineno, node.value))
    return sorted(set(found))


def test_no_path_of_graph_is_matched_by_a_regex_outside_vevents_spec() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text[:100]!r}"
        for path in _python_files()
        for line, text in route_regexes(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "match Graph's paths with contract().route (or ask it for op.path / url_path)"


def test_the_route_regex_detector_catches_what_it_is_for() -> None:
    caught = [
        'WEBINAR = re.compile(r"^/v1.0/solutions/virtualEvents/webinars/([^/]+)$")',
        "re.match('virtualEvents/', path)",
        're.fullmatch(rf"/{version}/solutions/" + r"virtualEvents/(?P<kind>\\w+)", path)',
        'CANCEL = r"/(?P<kind>webinars|townhalls)/(?P<id>[^/]+)/cancel"  # compiled later',
        'KIND = r"(?P<kind>webinars|townhalls)"',
        "pattern = re.compile(\n    '^/beta'\n    '/solutions/virtualEvents/townhalls'\n)",
    ]
    for source in caught:
        assert route_regexes(source), source
    passed = [
        're.compile(r"^\\s*(vevents|make)\\s+serve\\b")',  # "vevents" is not the "events" segment
        'url = f"/v1.0/solutions/virtualEvents/webinars/{event_id}"',  # a URL, not a pattern
        're.compile(r"[0-9a-f]{8}-[0-9a-f]{4}")',
        're.search(r"Retry-After: (\\d+)", text)',
    ]
    for source in passed:
        assert not route_regexes(source), source


def test_the_patterns_catch_what_they_are_for() -> None:
    assert _YAML_READ.search("doc = yaml.safe_load(text)")
    assert _YAML_READ.search("yaml.load(text, Loader=yaml.SafeLoader)")
    assert not _YAML_READ.search("path.write_text(yaml.safe_dump(spec))")
    assert _REF_FOLLOW.search("node = root[node['$ref'].split('/')[-1]]")
    assert _REF_FOLLOW.search('ref = schema.get("$ref")')
    assert not _REF_FOLLOW.search('assert schema == {"$ref": "#/components/schemas/ODataError"}')


def test_resolve_follows_local_references_and_refuses_the_rest() -> None:
    document = {
        "a": {"$ref": "#/b~1c"},
        "b/c": {"$ref": "#/d"},
        "d": {"type": "string"},
        "loop": {"$ref": "#/loop"},
        "far": {"$ref": "other.yaml#/x"},
        "gone": {"$ref": "#/nowhere"},
    }
    assert resolve(document, document["a"]) == {"type": "string"}
    for name in ("loop", "far", "gone"):
        with pytest.raises(DocumentError):
            resolve(document, document[name])


def test_parse_yaml_reads_yaml_and_json_and_explains_the_rest(tmp_path: Path) -> None:
    assert parse_yaml("a: [1, 2]") == {"a": [1, 2]}
    assert parse_yaml('{"a": 1}') == {"a": 1}
    assert parse_yaml("{a: 1}") == {"a": 1}  # YAML flow style, not JSON
    with pytest.raises(DocumentError):
        parse_yaml("a: [1,")
    (tmp_path / "x.yaml").write_text("openapi: 3.0.3\n", encoding="utf-8")
    assert load_yaml_file(tmp_path / "x.yaml") == {"openapi": "3.0.3"}
    assert SpecDocument.from_path(tmp_path / "x.yaml").root == {"openapi": "3.0.3"}


def test_one_route_matcher_answers_every_question() -> None:
    the_contract = contract()
    event_id = the_contract.sample.event_id
    for op in the_contract.operations:
        # A sub-resource's id or key (registration id, `email`, ...) after the event id.
        more = tuple(f"value-{name}@x" for name in op.path_parameters[1:]) if op.id_parameter else ()
        for version in (*the_contract.versions, None):
            path = op.url_path(event_id if op.id_parameter else None, *more)
            route = the_contract.route(op.method, f"/{version}{path}" if version else path)
            assert route is not None and route.operation == op and route.version == version, (op, version)
            assert route.event_id == (event_id if op.id_parameter else None)
            assert route.ids == ((event_id, *more) if op.id_parameter else ())
            assert op.method in the_contract.methods_at(path)
    assert the_contract.route("DELETE", f"/v1.0/solutions/virtualEvents/webinars/{event_id}") is None
    assert the_contract.route("GET", "/v1.0/solutions/virtualEvents/webinars//") is None
    assert the_contract.methods_at("/v1.0/solutions/virtualEvents/nothing") == ()
