"""The mapping file format: frozen pydantic models of a mapping and its exported JSON Schema.

A field value in a mapping is one of:

* a string: a JMESPath expression evaluated against the record (or the `each` item);
* a number, boolean or null: that literal value;
* `{const: X}`: the literal X (use it for literal text such as `atlassian:repository`);
* `{expr: E, ...}`, `{use: NAME, ...}`, `{coalesce: [E1, E2, ...], ...}` with the policy options
  `default`, `required` and `omit_empty`;
* a list of field values: a JSON array (null items are dropped);
* any other mapping: a JSON object whose keys are output field names.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag
from typing_extensions import TypeAliasType

SOURCE_KEYS = ("expr", "const", "use", "coalesce")
POLICY_KEYS = ("default", "required", "omit_empty")
DIRECTIVE_KEYS = frozenset(SOURCE_KEYS + POLICY_KEYS)


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Policy(_Spec):
    default: Any = Field(None, description="Literal used when the value is null or missing.")
    required: bool | None = Field(
        None, description="true: a null/missing value rejects the record. Defaults per type."
    )
    omit_empty: bool = Field(
        False, description='Treat "", [] and {} like null (then default/required apply).'
    )


class ExprField(_Policy):
    """A JMESPath expression with a policy for null and missing values."""

    expr: str = Field(description="JMESPath expression evaluated against the record or item.")


class ConstField(_Spec):
    """A literal value, written as is into the output."""

    const: Any = Field(description="The literal value (text, number, boolean, list or object).")


class UseField(_Policy):
    """A reference to a named field value from `define:` (this file or an included one)."""

    use: str = Field(description="Name of an entry of `define:`.")


class CoalesceField(_Policy):
    """The first expression whose value is not null (false, 0, "" and [] are kept)."""

    coalesce: list[str] = Field(min_length=1, description="Expressions tried in order.")


def field_tag(value: Any) -> str:
    """The union tag of a field value, bracketed like pydantic's own location markers
    (`list[any]`) so that a tag in an error location is never taken for a key."""
    if isinstance(value, dict):
        return next((f"[{key}]" for key in SOURCE_KEYS if key in value), "[object]")
    if isinstance(value, list):
        return "[list]"
    return "[expression]" if isinstance(value, str) else "[literal]"


# mypy cannot follow a recursive TypeAliasType on Python 3.11; pydantic resolves it at runtime.
FieldValue = TypeAliasType(  # type: ignore[misc]
    "FieldValue",
    Annotated[
        Annotated[str, Tag("[expression]")]
        | Annotated[int | float | bool | None, Tag("[literal]")]
        | Annotated[ExprField, Tag("[expr]")]
        | Annotated[ConstField, Tag("[const]")]
        | Annotated[UseField, Tag("[use]")]
        | Annotated[CoalesceField, Tag("[coalesce]")]
        | Annotated[list["FieldValue"], Tag("[list]")]  # type: ignore[misc]
        | Annotated[dict[str, "FieldValue"], Tag("[object]")],  # type: ignore[misc]
        Discriminator(field_tag),
    ],
)


class LookupSpec(_Spec):
    """A JSON file loaded once per run and indexed by a key, read with `lookup(name, key)`."""

    file: str = Field(
        description="File name; searched in the input file's folder and its parents, "
        "or given with `mapper run --lookup NAME=PATH`."
    )
    key: str = Field(description="JMESPath expression giving each row's key (compared as text).")
    records: str | None = Field(
        None, description="JMESPath selecting the rows inside the file (default: the file itself)."
    )


class ParamSpec(_Spec):
    """A mapping parameter: a value given per run with `--param NAME=VALUE`, read with
    `param('NAME')`. Without a default it is required."""

    type: Literal["string", "number", "integer", "boolean"] = Field(
        "string", description="How the text given on the command line is read."
    )
    description: str | None = Field(None, description="Shown by `mapper validate`.")
    default: Any = Field(None, description="The value when none is given (then optional).")


class ObjectSpec(_Spec):
    """One object rule: which Teamwork Graph object to produce from each record (or item)."""

    type: str = Field(description="Teamwork Graph object type, e.g. atlassian:commit.")
    name: str | None = Field(None, description="Rule name used in reports (default: the type).")
    each: str | None = Field(
        None, description="JMESPath giving 0..n items per record; one object per item."
    )
    where: str | None = Field(
        None,
        description="JMESPath condition; items where it is false/empty are counted as filtered.",
    )
    fields: dict[str, FieldValue] = Field(
        description="Output fields: common properties plus the type block under the type name."
    )
    together: bool | None = Field(
        None,
        description="true: this rule's objects are sent only if every candidate of the "
        "record's `together` rules is valid (default: the mapping's `together`).",
    )


class IdentitySpec(_Spec):
    """One `users:` or `groups:` rule: a setUsers UserPayload or setGroups GroupPayload per
    record (or item), written with the same field values as object rules."""

    name: str | None = Field(None, description="Rule name used in reports (default: the kind).")
    each: str | None = Field(
        None, description="JMESPath giving 0..n items per record; one user or group per item."
    )
    where: str | None = Field(
        None,
        description="JMESPath condition; items where it is false/empty are counted as filtered.",
    )
    fields: dict[str, FieldValue] = Field(
        description="Payload fields: externalId, displayName, emails / members, ..."
    )


class MappingSpec(_Spec):
    """A mapping file: several object rules plus shared definitions."""

    version: Literal[1] = Field(description="Mapping format version (1).")
    name: str | None = Field(None, description="A short name for reports.")
    description: str | None = None
    records: str | None = Field(
        None,
        description="JMESPath selecting the records inside each input document (e.g. items[]).",
    )
    cursor: str | None = Field(
        None,
        description="JMESPath evaluated on each input record (e.g. updated_at): the highest "
        "value of a complete sync run becomes the state's cursor (default: the highest "
        "lastUpdatedAt of the objects). Numbers compare numerically, RFC 3339 timestamps as "
        "instants, other strings as text.",
    )
    include: list[str] = Field(
        default_factory=list, description="Mapping files whose `define:` entries are reused here."
    )
    define: dict[str, FieldValue] = Field(
        default_factory=dict, description="Named field values, used with {use: NAME}."
    )
    defaults: dict[str, FieldValue] = Field(
        default_factory=dict,
        description="Field values applied to every rule that does not map them.",
    )
    lookups: dict[str, LookupSpec] = Field(default_factory=dict)
    params: dict[str, ParamSpec] = Field(
        default_factory=dict,
        description="Parameters given per run (`--param NAME=VALUE`), read with param('NAME').",
    )
    together: bool = Field(
        False,
        description="true: a record's objects are sent all together or not at all "
        "(one rejected item holds back the others). Rules may override it.",
    )
    strict: bool = Field(
        False,
        description="true: an optional field whose expression fails rejects the object "
        "(default: the field is omitted with a field.optional-failed warning).",
    )
    objects: list[ObjectSpec] = Field(default_factory=list)
    users: list[IdentitySpec] = Field(
        default_factory=list, description="setUsers rules: the users USER principals name."
    )
    groups: list[IdentitySpec] = Field(
        default_factory=list, description="setGroups rules: the groups GROUP principals name."
    )
    replicates_permissions: bool | None = Field(
        None,
        alias="replicatesPermissions",
        description="The connector replicates source permissions: objects granted only to "
        "EVERYONE / ATLASSIAN_WORKSPACE are reported.",
    )


class LibrarySpec(_Spec):
    """An included file: it may only hold definitions."""

    version: Literal[1]
    description: str | None = None
    include: list[str] = Field(default_factory=list)
    define: dict[str, FieldValue] = Field(default_factory=dict)


def _disambiguate(field_value: dict[str, Any]) -> None:
    """Mirror the runtime rule: a map with expr/const/use/coalesce is a directive, not an object."""
    branches = field_value.pop("oneOf", None) or field_value.pop("anyOf")
    for branch in branches:
        if branch.get("type") == "object" and "additionalProperties" in branch:
            branch["propertyNames"] = {"not": {"enum": list(SOURCE_KEYS)}}
    field_value["anyOf"] = branches


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a mapping file, for editors (YAML language server) and tests."""
    schema = MappingSpec.model_json_schema()
    _disambiguate(schema["$defs"]["FieldValue"])
    _typed_rules(schema["$defs"]["ObjectSpec"])
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "mapper mapping file (version 1)"
    return schema


SCHEMA_ID = "urn:twg-mapper:mapping-schema:1"  # a name, not a URL: the schema is not hosted


def _typed_rules(rule: dict[str, Any]) -> None:
    """Teach an editor the object types and their fields: `type` is one of the type names, and
    for each type `fields` (and its type block) take only that type's keys, so `atlassian:comit`
    or `dispalyName` is flagged as it is typed. Generated from the models (model/introspect)."""
    from mapper.model import OBJECT_TYPES
    from mapper.model.introspect import describe_type

    names = sorted(OBJECT_TYPES)
    rule["properties"]["type"]["enum"] = names
    rule["allOf"] = [_fields_of(name, describe_type(name)) for name in names]


def _fields_of(type_name: str, fields: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for f in fields:
        if f.name == type_name and f.children:  # the type block: an expression or a map
            keys = sorted({c.name for c in f.children} | DIRECTIVE_KEYS)
            properties[f.name] = {
                "description": f"the {type_name} block",
                "anyOf": [
                    {"not": {"type": "object"}},
                    {"type": "object", "propertyNames": {"enum": keys}},
                ],
            }
    field_names = sorted(f.name for f in fields)
    return {
        "if": {"properties": {"type": {"const": type_name}}, "required": ["type"]},
        "then": {
            "properties": {
                "fields": {"propertyNames": {"enum": field_names}, "properties": properties}
            }
        },
    }
