"""Bounds on every input: integers that fit their columns, text PostgreSQL can store, JSON of sane depth.

One place for the rules, used by every door: path ids (``BoundedIntegerConverter``, the app's ``int``
converter), schema integers (``Integer`` / ``Id``), REST arguments of every location (``InputParser``, the
parser of ``app.common.api.Blueprint``) and Socket.IO payloads (``check_payload``, called by
``app.common.sockets``). Anything outside the bounds is a 422 (a 404 for a path id no row can have), never a
database error.
"""
from engineio import json as engineio_json
from flask.json.provider import DefaultJSONProvider
from marshmallow import ValidationError, fields, validate
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict, FileStorage
from werkzeug.routing import IntegerConverter

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1  # PostgreSQL ``integer``: every id and count column
MAX_JSON_DEPTH = 32  # no schema nests deeper than a few levels
MAX_PAGE = INT32_MAX  # (page - 1) * page_size stays far inside a 64-bit OFFSET

NUL_MESSAGE = "Text may not contain NUL characters."
SURROGATE_MESSAGE = "Text may not contain unpaired surrogates (invalid Unicode)."
DEPTH_MESSAGE = f"Nested deeper than {MAX_JSON_DEPTH} levels."


class BoundedIntegerConverter(IntegerConverter):
    """The app's ``<int:...>``: 0 .. 2**31-1 unless told otherwise, so an impossible id does not match (404).

    Its regex already refuses a larger number: refused only by ``to_python``, the path would still match the
    rule of another method on the same path, and werkzeug would answer 405 instead of 404."""

    def __init__(self, url_map, fixed_digits=0, min=0, max=INT32_MAX, signed=False):  # noqa: A002 (werkzeug's names)
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
        if not signed and not fixed_digits and max is not None:
            self.regex = digits_up_to(max)


def digits_up_to(maximum):
    """A regex matching the decimal numbers 0 .. ``maximum`` (with at most as many digits as ``maximum``)."""
    digits = str(maximum)
    alternatives = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for index, digit in enumerate(digits):
        if digit != "0":
            rest = len(digits) - index - 1
            alternatives.append(digits[:index] + f"[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    return "(?:" + "|".join([*alternatives, digits]) + ")"


def bounded_integer_param_schema(converter):
    """OpenAPI schema of a path parameter using ``BoundedIntegerConverter``."""
    schema = {"type": "integer"}
    if converter.min is not None:
        schema["minimum"] = converter.min
    if converter.max is not None:
        schema["maximum"] = converter.max
    return schema


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, where a document nested past the decoder's recursion limit is invalid JSON (a ValueError,
    which ``request.get_json`` turns into a 400, or None with ``silent=True``) instead of a RecursionError."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError(DEPTH_MESSAGE) from None


def init_app(app, api):
    """Install the bounded ``int`` converter and the JSON provider; call before any route is added."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    api.register_converter(BoundedIntegerConverter, bounded_integer_param_schema)
    app.json = JSONProvider(app)


class Integer(fields.Integer):
    """An integer always bounded (by default to a PostgreSQL ``integer``), documented with its bounds.

    Extra ``validate=`` validators (a tighter ``Range``, ``OneOf``) still apply; OpenAPI shows the tightest range."""

    def __init__(self, *, min=INT32_MIN, max=INT32_MAX, validate=None, **kwargs):  # noqa: A002
        validators = [_range(min, max)]
        if validate is not None:
            validators.extend(validate if isinstance(validate, list | tuple) else [validate])
        super().__init__(validate=validators, **kwargs)


def _range(minimum, maximum):
    return validate.Range(min=minimum, max=maximum)


def Id(**kwargs):  # noqa: N802 (a field factory, read like a field class)
    """A database id: 1 .. 2**31-1."""
    return Integer(min=1, max=INT32_MAX, **kwargs)


def text_problem(value):
    """Why ``value`` (a str) cannot be stored as text, or None."""
    if "\x00" in value:
        return NUL_MESSAGE
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


def find_problems(data, max_depth=MAX_JSON_DEPTH):
    """{path: [message]} for every bad string (values and keys) in ``data`` and for nesting past ``max_depth``.

    Iterative, so a payload nested thousands deep cannot exhaust the stack here."""
    problems = {}
    stack = [(data, (), 0)]
    while stack:
        value, path, depth = stack.pop()
        where = ".".join(str(part) for part in path) or "_schema"
        if isinstance(value, FileStorage):
            value = value.filename or ""
        if isinstance(value, str):
            _note(problems, where, text_problem(value))
        elif isinstance(value, dict | list | tuple):
            if depth >= max_depth:
                _note(problems, where, DEPTH_MESSAGE)
                continue
            for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
                key_problem = text_problem(key) if isinstance(key, str) else None
                _note(problems, where, key_problem and f"Key: {key_problem}")
                if not key_problem:
                    stack.append((item, (*path, key), depth + 1))
    return problems


def _note(problems, where, problem):
    if problem:
        problems.setdefault(where, []).append(problem)


def check_payload(data):
    """Raise ValidationError (422) when ``data`` holds text the database refuses or nests too deep."""
    problems = find_problems(data)
    if problems:
        raise ValidationError(_safe_keys(problems))


def _safe_keys(problems):
    """Error paths echo user keys: keep them printable and encodable in the error body."""
    return {key.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00"): messages
            for key, messages in problems.items()}


class InputParser(FlaskParser):
    """webargs' Flask parser, refusing bad text and deep JSON in every location before the schema loads it,
    and answering a body JSON cannot represent in Python (nested past the decoder's recursion limit, an
    integer of thousands of digits) with 422 instead of an exception.

    ``location="multipart"`` reads form fields and files together, so one schema describes a whole
    multipart/form-data body (flask-smorest documents one request body per operation)."""

    __location_map__ = dict(multipart="load_multipart", **FlaskParser.__location_map__)

    def load_multipart(self, req, schema):
        return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)

    def load_json(self, req, schema):
        try:
            return super().load_json(req, schema)
        except RecursionError:
            raise ValidationError({"_schema": [DEPTH_MESSAGE]}) from None
        except ValueError as error:  # int() refuses over 4,300 digits
            raise ValidationError({"_schema": [f"Invalid JSON value: {error}"]}) from None

    def pre_load(self, location_data, *, schema, req, location):
        check_payload(_plain(location_data))
        return location_data


def _plain(location_data):
    """Multi-dicts (query, form, files) as {key: [values]}, so every value is checked."""
    lists = getattr(location_data, "lists", None)
    if callable(lists):
        return {key: list(values) for key, values in lists()}
    return location_data


class PaginationParser(InputParser):
    """The parser of ``page``/``page_size``: a page past ``MAX_PAGE`` is a 422 (flask-smorest bounds it below only)."""

    def pre_load(self, location_data, *, schema, req, location):
        location_data = super().pre_load(location_data, schema=schema, req=req, location=location)
        raw = location_data.get("page")
        if isinstance(raw, str) and raw.strip().lstrip("+").isdigit() and len(raw) < 100 and int(raw) > MAX_PAGE:
            raise ValidationError({"page": [f"Must be less than or equal to {MAX_PAGE}."]})
        return location_data


REFUSED_EVENT = "tutorhub:undecodable"  # what an undecodable Socket.IO packet becomes (app.common.sockets answers it)


class SocketJSON:
    """python-socketio's JSON module: a packet whose data cannot be decoded (nested past the decoder's recursion
    limit, an integer of over 100 digits, broken JSON) becomes the event ``REFUSED_EVENT`` instead of an
    exception, so its ack id survives and the sender gets a 422 ack rather than silence."""

    dumps = staticmethod(engineio_json.dumps)

    @staticmethod
    def loads(s, **kwargs):
        try:
            return engineio_json.loads(s, **kwargs)
        except (RecursionError, ValueError):
            return [REFUSED_EVENT]
