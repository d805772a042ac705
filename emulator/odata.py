"""The OData query options Graph's Outlook endpoints accept, parsed and applied to JSON.

Covers $select, $top, $skip, $count, $orderby, $expand (with nested $filter and
$select) and a $filter subset: eq/ne/gt/ge/lt/le, and/or/not, parentheses,
startswith/endswith/contains, and any()/all() lambdas over collections
(emailAddresses, categories, recipients, singleValueExtendedProperties).
String comparisons are case-insensitive, as Exchange's are. Anything else is
an `ODataError`, which the Graph views answer with 400 and Graph's error body.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from emulator.store import parse_iso


class ODataError(Exception):
    """A malformed or unsupported query option (HTTP 400)."""

    def __init__(self, message: str, code: str = "BadRequest"):
        super().__init__(message)
        self.code = code
        self.message = message


KNOWN_OPTIONS = {"$select", "$top", "$skip", "$skiptoken", "$filter", "$orderby", "$expand",
                 "$count", "$search", "$deltatoken", "$format"}


def check_options(args, allowed: set[str]) -> None:
    """Reject unknown or unsupported system query options ($...)."""
    for name in args.keys():
        if not name.startswith("$"):
            continue
        lower = name.lower()
        if lower not in KNOWN_OPTIONS:
            raise ODataError(f"Query option '{name}' is not supported.", "BadRequest")
        if lower not in allowed:
            raise ODataError(f"The query parameter '{name}' is not supported with this request.",
                             "ErrorInvalidUrlQuery")


def option(args, name: str) -> str | None:
    """A query option by name, case-insensitively ($Top and $top are the same)."""
    for key in args.keys():
        if key.lower() == name:
            return args.get(key)
    return None


# ---------------------------------------------------------------- $select, $top, $skip

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_select(text: str | None, entity: str, known: dict[str, str]) -> list[str] | None:
    """Property names in $select, spelled as Graph spells them; None when absent.

    `known` maps lower-case property names to their canonical spelling.
    """
    if text is None:
        return None
    names = []
    for part in text.split(","):
        name = part.strip()
        if not name:
            raise ODataError("Syntax error: character ',' is not valid in $select.")
        if name == "*":
            return None
        if not _IDENT.match(name):
            raise ODataError(f"Syntax error at '{name}' in $select.")
        canonical = known.get(name.lower())
        if canonical is None:
            raise ODataError(f"Could not find a property named '{name}' on type 'microsoft.graph.{entity}'.",
                             "RequestBroker--ParseUri")
        if canonical not in names:
            names.append(canonical)
    return names


def apply_select(obj: dict, select: list[str] | None, always=("@odata.etag", "@odata.type", "id")) -> dict:
    if select is None:
        return obj
    keep = set(select) | set(always)
    return {k: v for k, v in obj.items() if k in keep}


def parse_int(text: str | None, name: str, default: int | None = None, minimum: int = 0) -> int | None:
    if text is None:
        return default
    if not re.fullmatch(r"\s*\d+\s*", text):
        raise ODataError(f"Invalid value '{text}' for {name} query option found. "
                         f"The {name} query option requires a non-negative integer value.")
    value = int(text)
    if value < minimum:
        raise ODataError(f"Invalid value '{text}' for {name} query option.")
    return value


def parse_bool(text: str | None, name: str) -> bool:
    if text is None:
        return False
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise ODataError(f"Invalid value '{text}' for {name} query option.")


# ---------------------------------------------------------------- $filter

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)(?![\w-])
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\w-])
  | (?P<number>-?\d+(?:\.\d+)?)(?![\w-])
  | (?P<path>[A-Za-z_@][\w.@]*(?:/[A-Za-z_@$][\w.@]*)*)
  | (?P<punct>[(),:])
""", re.VERBOSE)

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
                raise ODataError(f"The DateTimeOffset text '{tok.text}' should be in format "
                                 f"'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?'.") from None
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
        converters = {"edm.int32": int, "edm.int64": int, "edm.double": float, "edm.string": str,
                      "edm.guid": lambda v: str(v).lower(),
                      "edm.boolean": lambda v: str(v).lower() == "true"}
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
            test = (lambda item: body(o, {**env, name: item}) is True)
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
                raise ODataError(f"Could not find a property named '{first}' on type "
                                 f"'microsoft.graph.{self.entity}'.", "RequestBroker--ParseUri")
            segments = [canonical, *segments[1:]]
        if segments[0] not in self.properties:
            self.properties.append(segments[0])
        fn = lambda o, env: resolve(o, segments)  # noqa: E731
        return _typed(fn, "Edm.DateTimeOffset") if len(segments) == 1 and segments[0].endswith("DateTime") else fn


_OPERATOR_NAMES = {"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
                   "lt": "LessThan", "le": "LessThanOrEqual"}


def _typed(fn, edm_type: str):
    fn.edm_type = edm_type
    return fn


def _check_types(op, left, right):
    """Graph refuses a date-time property compared with a quoted string (dates are unquoted)."""
    kinds = {getattr(left, "edm_type", None), getattr(right, "edm_type", None)}
    if kinds == {"Edm.DateTimeOffset", "Edm.String"}:
        raise ODataError(f"A binary operator with incompatible types was detected. Found operand types "
                         f"'{getattr(left, 'edm_type')}' and '{getattr(right, 'edm_type')}' for operator kind "
                         f"'{_OPERATOR_NAMES[op]}'.")


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


def _as_datetime(value):
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
        a, b = _as_datetime(a), _as_datetime(b)
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


# ---------------------------------------------------------------- $orderby

def parse_orderby(text: str | None, entity: str, known: dict[str, str]) -> list[tuple[str, bool]]:
    """[(property, descending)] from $orderby; raises ODataError."""
    if text is None:
        return []
    out = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise ODataError(f"Syntax error at '{part.strip()}' in $orderby.")
        canonical = known.get(words[0].lower())
        if canonical is None:
            raise ODataError(f"Could not find a property named '{words[0]}' on type "
                             f"'microsoft.graph.{entity}'.", "RequestBroker--ParseUri")
        out.append((canonical, len(words) == 2 and words[1].lower() == "desc"))
    return out


def sort_items(items: list, orderby: list[tuple[str, bool]], key_of) -> list:
    """Stable multi-key sort; `key_of(item, prop)` gives the value to compare."""
    for prop, desc in reversed(orderby):
        present = [i for i in items if key_of(i, prop) is not None]
        missing = [i for i in items if key_of(i, prop) is None]
        present.sort(key=lambda i: _sort_key(key_of(i, prop)), reverse=desc)
        items = present + missing
    return items


def _sort_key(value):
    if isinstance(value, str):
        dt = _as_datetime(value)
        return (0, dt.timestamp(), "") if dt else (1, 0, value.casefold())
    if isinstance(value, bool):
        return (0, int(value), "")
    if isinstance(value, (int, float)):
        return (0, value, "")
    return (2, 0, str(value))


# ---------------------------------------------------------------- $expand

@dataclass
class Expand:
    name: str
    filter: str | None = None
    select: str | None = None


def parse_expand(text: str | None) -> list[Expand]:
    """Split $expand into items with their nested options; raises ODataError."""
    if text is None:
        return []
    items, depth, start = [], 0, 0
    parts = []
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ODataError("Syntax error: unbalanced parentheses in $expand.")
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise ODataError("Syntax error: unbalanced parentheses in $expand.")
    parts.append(text[start:])
    for part in parts:
        part = part.strip()
        m = re.fullmatch(r"([A-Za-z_][\w]*)\s*(?:\((.*)\))?", part, re.S)
        if not m:
            raise ODataError(f"Syntax error at '{part}' in $expand.")
        item = Expand(m.group(1))
        for opt in _split_options(m.group(2) or ""):
            key, _, value = opt.partition("=")
            key = key.strip().lower()
            if key == "$filter":
                item.filter = value
            elif key == "$select":
                item.select = value
            else:
                raise ODataError(f"Query option '{key}' is not supported inside $expand.")
        items.append(item)
    return items


def _split_options(text: str) -> list[str]:
    out, depth, start, quoted = [], 0, 0, False
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and ch == ";" and depth == 0:
            out.append(text[start:i])
            start = i + 1
    tail = text[start:]
    if tail.strip():
        out.append(tail)
    return [o for o in (x.strip() for x in out) if o]
