"""A Serverless / CloudFormation template as data: YAML with CloudFormation's tags, line
numbers, and the values of names that carry the stage.

CloudFormation's short-form functions (``!Sub``, ``!Ref``, ``!GetAtt``, ``!Join`` …) are
YAML tags that PyYAML's safe loader refuses; ``_CfnLoader`` is that loader with one
constructor for every ``!`` tag (each becomes an ``Intrinsic``) and mappings that keep
their line numbers, so every error can name its line.

``Resolver`` turns a value the bot reads (a table or index name) into text: Serverless
variables are resolved as the framework does before CloudFormation sees the template
(``${self:provider.stage}``, ``${sls:stage}`` and ``${opt:stage[, default]}`` are the
bot's ``STAGE``; ``${self:path}`` is that path of the file), then CloudFormation's
``!Sub``, ``!Ref`` and ``!Join`` (a stage parameter such as ``Stage`` is the stage, other
parameters their ``Default``, ``AWS::StackName`` Serverless's ``<service>-<stage>``).
Anything else (``${env:…}``, ``${ssm:…}``, ``!GetAtt``, ``!If`` …) cannot be known
to the bot and is an error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from dynamo.errors import DdbBotError


class SchemaFileError(DdbBotError, ValueError):
    """A schema file the bot cannot use: ``<file>: line <n>: <reason>``."""


# -- YAML with CloudFormation tags and line numbers --------------------------------------------
@dataclass(frozen=True)
class Intrinsic:
    """A CloudFormation function in short form (``!Sub …``): ``fn`` is ``Sub``, ``Ref`` …"""

    fn: str
    value: object
    line: int


class YamlMap(dict[object, object]):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int = 0
    key_lines: dict[object, int]

    def line_of(self, key: object) -> int:
        return self.key_lines.get(key, self.line)


class _CfnLoader(yaml.SafeLoader):
    """PyYAML's safe loader, plus CloudFormation's ``!`` tags and line numbers."""


def _construct_map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> YamlMap:
    loader.flatten_mapping(node)  # YAML merge keys (<<: *anchor)
    out = YamlMap()
    out.line, out.key_lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Intrinsic:
    value: object
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = _construct_map(loader, node)
    return Intrinsic(suffix, value, node.start_mark.line + 1)


_CfnLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)  # type: ignore[arg-type]
_CfnLoader.add_multi_constructor("!", _construct_tag)


def parse_yaml(text: str, source: str) -> object:
    """YAML text with CloudFormation tags; a syntax error names the line."""
    try:
        return yaml.load(text, Loader=_CfnLoader)  # a SafeLoader: no Python objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SchemaFileError(f"{source}:{where} not valid YAML ({problem})") from None


# -- names with the stage in them -------------------------------------------------------------
# Template parameters that name the deployment stage (``!Sub 'mfh-${Stage}-users'``).
STAGE_PARAMETERS = frozenset({"stage", "stagename", "env", "environment"})
# Serverless variables that are the stage (``provider.stage`` is overridden by ``--stage``).
STAGE_VARIABLES = frozenset({"sls:stage", "opt:stage", "self:provider.stage"})
_DEPTH = 10  # variables that name variables, at most this deep
KNOWN = ("${sls:stage}, ${opt:stage}, ${self:provider.stage}, ${self:<path in this file>}, "
         "!Sub, !Ref and !Join of a stage parameter")


def _closing(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` at ``start`` (nesting counted), or -1."""
    depth = 0
    for i in range(start, len(text)):
        if text.startswith("${", i):
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _split_top(expr: str) -> list[str]:
    """``opt:stage, ${self:x}, 'dev'`` → its comma-separated parts, outside ``${…}``."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(expr):
        if expr.startswith("${", i):
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(expr[start:i].strip())
            start = i + 1
    parts.append(expr[start:].strip())
    return parts


class Resolver:
    """Values of one template for one stage; errors name ``source``, the line and the field."""

    def __init__(self, doc: YamlMap, source: str, stage: str) -> None:
        self.doc, self.source, self.stage = doc, source, stage
        params = doc.get("Parameters")
        resources = doc.get("resources")
        if isinstance(resources, Mapping) and isinstance(resources.get("Parameters"), Mapping):
            params = resources["Parameters"]  # Serverless: resources.Parameters
        self.parameters: Mapping[object, object] = params if isinstance(params, Mapping) else {}

    def fail(self, line: int, reason: str) -> SchemaFileError:
        return SchemaFileError(f"{self.source}: line {line}: {reason}")

    # -- text --------------------------------------------------------------------------------
    def text(self, value: object, line: int, field: str) -> str:
        """``value`` (a string, a number or a name function) as the deployed text."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return self._expand(str(value), line, field, None, 0)
        fn = _function(value)
        if fn is None:
            raise self.fail(line, f"{field} must be text, not {type(value).__name__}")
        name, arg, at = fn
        at = at or line
        if name == "Ref":
            return self._name(str(arg), at, field, {})
        if name == "Sub":
            return self._sub(arg, at, field)
        if name == "Join":
            return self._join(arg, at, field)
        raise self.fail(at, f"{field}: `!{name}` cannot be resolved by the bot (it knows "
                            f"{KNOWN})")

    def _sub(self, arg: object, line: int, field: str) -> str:
        template, variables = arg, {}
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], Mapping):
            template, variables = arg[0], arg[1]
        if not isinstance(template, str):
            raise self.fail(line, f"{field}: `!Sub` needs a string or [string, variables]")
        return self._expand(template, line, field, variables, 0)

    def _join(self, arg: object, line: int, field: str) -> str:
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)
                and isinstance(arg[1], list)):
            raise self.fail(line, f"{field}: `!Join` needs [separator, [values]]")
        return arg[0].join(self.text(v, line, field) for v in arg[1])

    def _expand(self, text: str, line: int, field: str,
                sub: Mapping[object, object] | None, depth: int) -> str:
        """``text`` with each ``${…}`` replaced; ``sub``: inside ``!Sub`` (its variables)."""
        if depth > _DEPTH:
            raise self.fail(line, f"{field}: variables nest deeper than {_DEPTH} (a loop?)")
        out, i = [], 0
        while (start := text.find("${", i)) != -1:
            end = _closing(text, start)
            if end == -1:
                raise self.fail(line, f"{field}: `{text[start:]}` is not closed with `}}`")
            out.append(text[i:start])
            out.append(self._variable(text[start + 2:end], line, field, sub, depth))
            i = end + 1
        out.append(text[i:])
        return "".join(out)

    def _variable(self, expr: str, line: int, field: str,
                  sub: Mapping[object, object] | None, depth: int) -> str:
        if sub is not None and expr.startswith("!"):  # ${!Literal} is "${Literal}" in !Sub
            return "${" + expr[1:] + "}"
        source, *fallbacks = _split_top(expr)
        if source in STAGE_VARIABLES:
            return self.stage
        if source.startswith("self:"):
            value = self._path(source.removeprefix("self:"))
            if value is not None:
                return self.text(value, line, field) if not isinstance(value, str) else (
                    self._expand(value, line, field, None, depth + 1))
            if fallbacks:
                return self._fallback(fallbacks[0], line, field, depth)
            raise self.fail(line, f"{field}: `${{{expr}}}`: `{source}` is not in the file")
        if ":" in source and not source.startswith("AWS::"):
            raise self.fail(line, f"{field}: `${{{expr}}}` cannot be resolved by the bot "
                                  f"(it knows {KNOWN})")
        if sub is None:
            raise self.fail(line, f"{field}: `${{{expr}}}` is not a variable the bot knows "
                                  f"(it knows {KNOWN})")
        return self._name(source, line, field, sub)

    def _fallback(self, text: str, line: int, field: str, depth: int) -> str:
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            return text[1:-1]
        if text.startswith("${"):
            return self._expand(text, line, field, None, depth + 1)
        return self._variable(text, line, field, None, depth + 1)

    def _path(self, dotted: str) -> object:
        node: object = self.doc
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node

    def _name(self, name: str, line: int, field: str, sub: Mapping[object, object]) -> str:
        """A ``!Sub`` variable or ``!Ref`` target: its own value, a parameter, a pseudo one."""
        if name in sub:
            return self.text(sub[name], line, field)
        if name in self.parameters:
            if name.lower() in STAGE_PARAMETERS:
                return self.stage
            param = self.parameters[name]
            default = param.get("Default") if isinstance(param, Mapping) else None
            if default is not None:
                return self.text(default, line, field)
            raise self.fail(line, f"{field}: parameter `{name}` has no Default and is not a "
                                  f"stage parameter ({', '.join(sorted(STAGE_PARAMETERS))})")
        if name == "AWS::StackName":
            return self._stack_name(line, field)
        raise self.fail(line, f"{field}: `{name}` is not a parameter of the file, a variable "
                              f"of the `!Sub`, nor `AWS::StackName` (the bot knows {KNOWN})")

    def _stack_name(self, line: int, field: str) -> str:
        provider = self.doc.get("provider")
        if isinstance(provider, Mapping) and provider.get("stackName") is not None:
            return self.text(provider["stackName"], line, field)
        service = self.doc.get("service")
        if isinstance(service, Mapping):  # the old form: service: {name: …}
            service = service.get("name")
        if service is None:
            raise self.fail(line, f"{field}: `AWS::StackName` is not known (no Serverless "
                                  "`service` in the file)")
        return f"{self.text(service, line, field)}-{self.stage}"


def _function(value: object) -> tuple[str, object, int] | None:
    """(name, argument, line) of ``!Name arg`` or its long form ``{Ref: …}``/``{Fn::Name: …}``."""
    if isinstance(value, Intrinsic):
        return value.fn, value.value, value.line
    if isinstance(value, YamlMap) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
            return str(key).removeprefix("Fn::"), arg, value.line
    return None
