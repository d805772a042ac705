"""$filter: a parser for Graph's subset, compiled to a predicate over JSON objects.

eq/ne/gt/ge/lt/le, and/or/not, parentheses, startswith/endswith/contains, cast() and
any()/all() lambdas over collections. String comparisons are case-insensitive, as
Exchange's are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from emulator.odata.errors import ODataError
from emulator.store.clock import parse_iso

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)(?![\w-])
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\w-])
  | (?P<number>-?\d+(?:\.\d+)?)(?![\w-])
  | (?P<path>[A-Za-z_@][\w.@]*(?:/[A-Za-z_@$][\w.@]*)*)
  | (?P<punct>[(),:])
""",
    re.VERBOSE,
)

COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
MAX_NESTING = 64
FUNCTIONS = {"startswith", "endswith", "contains"}


@dataclass
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ODataError(f"Syntax error at position {pos} in '{text}'.", "BadRequest")
        kind = m.lastgroup
        if kind != "ws":
            tokens.append(Token(kind, m.group(kind), pos))
        pos = m.end()
    return tokens


@dataclass
class Filter:
    """A parsed $filter: call it on a JSON object; `properties` lists the top-level
    properties it mentions, in order (for Graph's $orderby restriction)."""

    fn: object
    properties: list[str] = field(default_factory=list)
    text: str = ""

    def __call__(self, obj: dict) -> bool:
        return self.fn(obj, {}) is True


def parse_filter(text: str, entity: str = "message", known: dict[str, str] | None = None) -> Filter:
    """Parse a $filter expression; raises ODataError when malformed or unsupported."""
    if text is None or not text.strip():
        raise ODataError("The $filter query option must not be empty.", "BadRequest")
    parser = _Parser(tokenize(text), text, entity, known)
    fn = parser.expression()
    if parser.peek() is not None:
        tok = parser.peek()
        raise ODataError(f"Syntax error at position {tok.pos} in '{text}'.", "BadRequest")
    return Filter(fn, parser.properties, text)


class _Parser:
    def __init__(self, tokens, text, entity, known):
        self.tokens, self.i, self.text = tokens, 0, text
        self.entity, self.known = entity, known
        self.properties: list[str] = []
        self.lambda_vars: list[str] = []
        self.depth = 0

    def peek(self, offset=0):
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self):
        tok = self.peek()
        if tok is None:
            raise ODataError(f"Syntax error: unexpected end of '{self.text}'.")
        self.i += 1
        return tok

    def expect(self, text):
        tok = self.take()
        if tok.text != text:
            raise ODataError(f"Syntax error: expected '{text}' at position {tok.pos} in '{self.text}'.")
        return tok

    def is_word(self, word):
        tok = self.peek()
        return tok is not None and tok.kind == "path" and tok.text.lower() == word

    def expression(self):
        left = self.conjunction()
        while self.is_word("or"):
            self.take()
            right = self.conjunction()
            left = (lambda a, b: lambda o, env: a(o, env) is True or b(o, env) is True)(left, right)
        return left

    def conjunction(self):
        left = self.negation()
        while self.is_word("and"):
            self.take()
            right = self.negation()
            left = (lambda a, b: lambda o, env: a(o, env) is True and b(o, env) is True)(left, right)
        return left

    def negation(self):
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                raise ODataError("The $filter expression is nested too deeply.")
            return self._negation()
        finally:
            self.depth -= 1

    def _negation(self):
        if self.is_word("not"):
            self.take()
            inner = self.negation()
            return lambda o, env: inner(o, env) is not True
        return self.comparison()

    def comparison(self):
        left = self.operand()
        tok = self.peek()
        if tok is not None and tok.kind == "path" and tok.text.lower() in COMPARISONS:
            op = self.take().text.lower()
            right = self.operand()
            _check_types(op, left, right)
            return lambda o, env: compare(op, left(o, env), right(o, env))
        return left

    def operand(self):
        tok = self.take()
        if tok.kind == "punct" and tok.text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if tok.kind == "string":
            value = tok.text[1:-1].replace("''", "'")
            return _typed(lambda o, env: value, "Edm.String")
        if tok.kind == "datetime":
            try:
                value = parse_iso(tok.text if "T" in tok.text else tok.text + "T00:00:00Z")
            except ValueError:
                raise ODataError(
                    f"The DateTimeOffset text '{tok.text}' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?'."
                ) from None
            return lambda o, env: value
        if tok.kind == "guid":
            value = tok.text
            return lambda o, env: value
        if tok.kind == "number":
            value = float(tok.text) if "." in tok.text else int(tok.text)
            return lambda o, env: value
        if tok.kind == "path":
            lower = tok.text.lower()
            if lower in ("true", "false"):
                value = lower == "true"
                return lambda o, env: value
            if lower == "null":
                return lambda o, env: None
            nxt = self.peek()
            if lower in FUNCTIONS and nxt is not None and nxt.text == "(":
                return self.function(lower)
            if lower == "cast" and nxt is not None and nxt.text == "(":
                return self.cast()
            segments = tok.text.split("/")
            if nxt is not None and nxt.text == "(" and segments[-1].lower() in ("any", "all"):
                return self.lambda_(segments[:-1], segments[-1].lower())
            if nxt is not None and nxt.text == "(":
                raise ODataError(f"Unknown function '{tok.text}'.", "BadRequest")
            if lower in COMPARISONS or lower in ("and", "or", "not"):
                raise ODataError(f"Syntax error at position {tok.pos} in '{self.text}'.")
            return self.path(segments)
        raise ODataError(f"Syntax error at position {tok.pos} in '{self.text}'.")

    def function(self, name):
        self.expect("(")
        first = self.operand()
        self.expect(",")
        second = self.operand()
        self.expect(")")

        def call(o, env):
            a, b = first(o, env), second(o, env)
            if not isinstance(a, str) or not isinstance(b, str):
                return False
            a, b = a.casefold(), b.casefold()
            return a.startswith(b) if name == "startswith" else a.endswith(b) if name == "endswith" else b in a

        return call

    def cast(self):
        self.expect("(")
        inner = self.operand()
        self.expect(",")
        kind = self.take().text.lower()
        self.expect(")")
        converters = {
            "edm.int32": int,
            "edm.int64": int,
            "edm.double": float,
            "edm.string": str,
            "edm.guid": lambda v: str(v).lower(),
            "edm.boolean": lambda v: str(v).lower() == "true",
        }
        if kind not in converters:
            raise ODataError(f"Cannot cast to '{kind}'.")
        convert = converters[kind]

        def run(o, env):
            value = inner(o, env)
            try:
                return None if value is None else convert(value)
            except (TypeError, ValueError):
                return None

        return run

    def lambda_(self, collection_path, kind):
        collection = self.path(collection_path)
        self.expect("(")
        if self.peek() is not None and self.peek().text == ")":
            self.take()
            if kind == "all":
                raise ODataError("all() needs a lambda expression.")
            return lambda o, env: bool(collection(o, env))
        var = self.take()
        if var.kind != "path" or "/" in var.text:
            raise ODataError(f"Syntax error: expected a lambda variable at position {var.pos}.")
        self.expect(":")
        self.lambda_vars.append(var.text)
        body = self.expression()
        self.lambda_vars.pop()
        self.expect(")")
        name = var.text

        def run(o, env):
            items = collection(o, env) or []
            if not isinstance(items, list):
                return False

            def test(item):
                return body(o, {**env, name: item}) is True

            return any(map(test, items)) if kind == "any" else all(map(test, items))

        return run

    def path(self, segments):
        first = segments[0]
        if first in self.lambda_vars:
            rest = segments[1:]
            return lambda o, env: resolve(env.get(first), rest)
        if self.known is not None:
            canonical = self.known.get(first.lower())
            if canonical is None:
                raise ODataError(
                    f"Could not find a property named '{first}' on type 'microsoft.graph.{self.entity}'.",
                    "RequestBroker--ParseUri",
                )
            segments = [canonical, *segments[1:]]
        if segments[0] not in self.properties:
            self.properties.append(segments[0])
        fn = lambda o, env: resolve(o, segments)  # noqa: E731
        return _typed(fn, "Edm.DateTimeOffset") if len(segments) == 1 and segments[0].endswith("DateTime") else fn


_OPERATOR_NAMES = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}


def _typed(fn, edm_type: str):
    fn.edm_type = edm_type
    return fn


def _check_types(op, left, right):
    """Graph refuses a date-time property compared with a quoted string (dates are unquoted)."""
    kinds = {getattr(left, "edm_type", None), getattr(right, "edm_type", None)}
    if kinds == {"Edm.DateTimeOffset", "Edm.String"}:
        raise ODataError(
            f"A binary operator with incompatible types was detected. Found operand types "
            f"'{left.edm_type}' and '{right.edm_type}' for operator kind "
            f"'{_OPERATOR_NAMES[op]}'."
        )


def resolve(value, segments):
    """Follow a property path through dicts, case-insensitively."""
    for seg in segments:
        if not isinstance(value, dict):
            return None
        if seg in value:
            value = value[seg]
            continue
        low = seg.lower()
        value = next((v for k, v in value.items() if k.lower() == low), None)
    return value


def as_datetime(value):
    """`value` as a datetime when it is one or an ISO date(-time) string; else None."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value):
        try:
            return parse_iso(value if "T" in value else value + "T00:00:00Z")
        except ValueError:
            return None
    return None


def compare(op: str, a, b) -> bool:
    if isinstance(a, datetime) or isinstance(b, datetime):
        a, b = as_datetime(a), as_datetime(b)
        if a is None or b is None:
            return op == "ne" if (a is None) != (b is None) else op == "eq"
    elif isinstance(a, str) and isinstance(b, str):
        a, b = a.casefold(), b.casefold()
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if a is None or b is None:
        return False
    try:
        return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
    except TypeError:
        return False
