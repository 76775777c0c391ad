"""`mapper init`: a commented starter mapping guessed from the keys of a sample payload."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mapper.errors import Diagnostic, InputError
from mapper.language.constants import PLACEHOLDER
from mapper.model.introspect import describe_type, required_fields

MODELINE = "# yaml-language-server: $schema={schema}"
TODO = f"{{const: {PLACEHOLDER}}}"

WRAPPERS = (
    "items",
    "values",
    "value",
    "results",
    "issues",
    "files",
    "data",
    "records",
    "objects",
    "nodes",
    "pages",
    "comments",
    "messages",
    "projects",
)

# field -> candidate key names (compared case-insensitively on the last path segment)
GUESSES: dict[str, tuple[str, ...]] = {
    "id": ("id", "key", "sha", "uuid", "number", "iid", "ts", "node_id"),
    "displayName": (
        "title",
        "name",
        "full_name",
        "summary",
        "subject",
        "displayname",
        "display_name",
        "path_with_namespace",
    ),
    "description": ("description", "body", "message", "text", "summary", "content"),
    "url": (
        "html_url",
        "web_url",
        "weburl",
        "permalink",
        "alternatelink",
        "webviewlink",
        "href",
        "url",
        "self",
        "link",
    ),
    "createdAt": (
        "created_at",
        "createdat",
        "created",
        "createddatetime",
        "created_on",
        "createdtime",
        "createddate",
        "created_time",
        "date",
        "timestamp",
        "ts",
    ),
    "lastUpdatedAt": (
        "updated_at",
        "updatedat",
        "updated",
        "lastmodifieddatetime",
        "modifiedtime",
        "updated_on",
        "last_edited_time",
        "modifieddate",
        "last_activity_at",
        "pushed_at",
    ),
}
USER_KEYS = ("user", "author", "creator", "owner", "created_by", "reporter", "from", "sender")
# keys of a webhook envelope around the object the event is about: never where its fields are
SIDE_KEYS = frozenset({"sender", "actor", "user", "pusher", "installation", "organization",
                       "enterprise", "changes", "labels", "assignees", "reviewers", "head", "base"})
# per type, the keys under which an envelope holds that object, best first
ENVELOPE_KEYS: dict[str, tuple[str, ...]] = {
    "atlassian:work-item": ("issue", "work_item", "object_attributes", "task", "ticket"),
    "atlassian:pull-request": ("pull_request", "pullrequest", "merge_request", "object_attributes"),
    "atlassian:comment": ("comment", "note", "object_attributes"),
    "atlassian:commit": ("head_commit", "commit"),
    "atlassian:repository": ("repository", "project", "repo"),
    "atlassian:branch": ("branch", "ref"),
    "atlassian:document": ("page", "document", "file", "blogpost", "content"),
    "atlassian:message": ("message", "event"),
    "atlassian:space": ("space", "project"),
}
GENERIC_ENVELOPE_KEYS = ("object", "object_attributes", "resource", "data", "item", "entity")
# a field's key sits at the top of the record or one level down (`fields.summary`); deeper only
# through containers of the record's own fields (not `fields.status.name`, a status's name)
CONTAINER_KEYS = frozenset({"fields", "attributes", "properties", "metadata", "data"})
# parts of key names that hold a person, whose names and ids are not the object's
PERSON_PARTS = ("author", "user", "creator", "reporter", "assignee", "owner", "committer",
                "sender", "actor", "pusher", "by", "member")
TIMESTAMP_FIELDS = ("createdAt", "lastUpdatedAt")
_COMPUTED = frozenset({"schemaVersion", "updateSequenceNumber"})  # mapper derives them


SAMPLE_RECORDS = 100
"""How many records of a JSONL sample `read_sample` reads (the first one is guessed from)."""


def read_sample(path: str | Path) -> Any:
    """The sample payload at `path`: a JSON document as it is (a wrapper is found by
    `find_records`), or the first SAMPLE_RECORDS records of a JSONL file as a list, read by the
    run's own reader (`io.inputs.iter_records`: JSONL by suffix, or sniffed from the content).

    Raises:
        InputError: the file cannot be read, or holds no record (located as a run locates it).
    """
    from mapper.io.inputs import JSONL_SUFFIXES, iter_records, parse_json
    from mapper.records import Record

    name = str(path)
    if not name.lower().endswith(JSONL_SUFFIXES):
        try:
            with Path(name).open("rb") as fh:
                return parse_json(fh.read())
        except ValueError:
            pass  # not one document: JSONL without the suffix? read it as a run does
        except OSError as err:
            raise InputError([_unreadable(name, err.strerror or str(err))]) from err
    records, problems = [], []
    for item in itertools.islice(iter_records([name]), SAMPLE_RECORDS):
        if isinstance(item, Record):
            records.append(item.data)
        else:
            problems.append(item.diagnostic)
    if not records:
        raise InputError(problems or [_unreadable(name, "it holds no record")])
    return records


def _unreadable(path: str, reason: str) -> Diagnostic:
    return Diagnostic("input.unreadable", f"cannot read {path}: {reason}")


def find_records(sample: Any) -> tuple[Any, str | None]:
    """The first record of a sample and the `records:` selector needed to reach it."""
    if isinstance(sample, list):
        return (sample[0] if sample else {}), None
    if isinstance(sample, dict):
        for key in WRAPPERS:
            value = sample.get(key)
            if isinstance(value, list) and value and isinstance(value[0], dict):
                return value[0], f"{key}[]"
    return sample, None


def envelope_key(record: Any, type_name: str) -> str | None:
    """The key of the object an event envelope is about (`issue` in `{action, issue, sender}`),
    or None when the record is the object itself."""
    if not isinstance(record, dict) or guess(record, "id") in record:
        return None  # it has an id of its own (a commit listing's `sha` next to its `commit`)
    for key in (*ENVELOPE_KEYS.get(type_name, ()), *GENERIC_ENVELOPE_KEYS):
        if isinstance(record.get(key), dict) and record[key]:
            return key
    return None


def iter_paths(value: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(JMESPath, value) for every key of a record, up to three levels deep."""
    if not isinstance(value, dict) or depth > 3:
        return
    for key, child in value.items():
        name = key if key.isidentifier() else f'"{key}"'
        path = f"{prefix}.{name}" if prefix else name
        yield path, child
        yield from iter_paths(child, path, depth + 1)


def _candidate_paths(record: Any) -> list[tuple[str, Any]]:
    """Scalar paths of the record, shallow first, leaving out the side objects of an envelope,
    people (a sender's id is not the object's id) and other objects' own fields."""
    found = []
    for path, value in iter_paths(record):
        parents = [part.strip('"').lower() for part in path.split(".")][:-1]
        if value is None or isinstance(value, dict | list):
            continue
        if len(parents) > 1 and not all(p in CONTAINER_KEYS for p in parents):
            continue
        if any(p in SIDE_KEYS or any(w in p for w in PERSON_PARTS) for p in parents):
            continue
        found.append((path, value))
    return sorted(found, key=lambda pv: pv[0].count("."))


def guess(record: Any, field: str, taken: frozenset[str] = frozenset()) -> str | None:
    """The best path in the record for a common field: the shallowest key that matches one of
    the field's candidate names (the better candidate first at the same depth), leaving out
    the paths in `taken` (a description is not the title again)."""
    paths = _candidate_paths(record)
    ranked = [
        (path.count("."), GUESSES[field].index(last), path)
        for path, _value in paths
        if (last := path.rsplit(".", 1)[-1].strip('"').lower()) in GUESSES[field]
        and path not in taken
    ]
    return min(ranked)[2] if ranked else None


def guess_user(record: Any, prefix: str = "") -> str | None:
    """A user_ref(...) expression for the record's author/creator, if there is one: a user
    object at the top of the record, else one level down (Jira's `fields.creator`)."""
    if not isinstance(record, dict):
        return None
    places = [("", record)] + [
        (f"{key}.", value)
        for key, value in record.items()
        if isinstance(value, dict) and key.isidentifier() and key not in SIDE_KEYS
    ]
    for path, holder in places:
        for key in USER_KEYS:
            user = holder.get(key)
            if isinstance(user, dict) and (ref := _user_ref(user, f"{prefix}{path}{key}")):
                return ref
    return None


def _user_ref(user: dict[str, Any], path: str) -> str | None:
    ident = next(
        (
            k
            for k in ("id", "accountId", "account_id", "uuid", "login", "username", "name")
            if user.get(k) is not None
        ),
        None,
    )
    if not ident:
        return None
    email = next((k for k in ("email", "emailAddress", "email_address") if k in user), None)
    args = f"{path}.{ident}" + (f", {path}.{email}" if email else "")
    return f"user_ref({args})"


def _expr_for(field: str, path: str) -> str:
    return (
        f"to_rfc3339({path})"
        if field in TIMESTAMP_FIELDS
        else f"to_str({path})"
        if field == "id"
        else path
    )


def starter_mapping(sample: Any, type_name: str, schema: str = "mapping.schema.json") -> str:
    """YAML text of a starter mapping for `type_name`, with a comment on every field.

    `schema` is the path of mapping.schema.json relative to where the mapping is written (the
    editor modeline on the first line). Every value it could not guess is `{const: REPLACE-ME}`,
    which `mapper validate` reports (`field.placeholder`); optional fields it left out are listed
    as comments.
    """
    record, records = find_records(sample)
    outer = envelope_key(record, type_name)
    inner = record[outer] if outer else record
    prefix = f"{outer}." if outer else ""
    required = required_fields(type_name)
    lines = [
        MODELINE.format(schema=schema),
        "# Starter mapping written by `mapper init`: check every guess against your data.",
        "# Values are JMESPath expressions evaluated on each record; literal text is written",
        "# as {const: ...} or in single quotes. Run `mapper preview` to see the result.",
        "version: 1",
        f"name: {type_name.removeprefix('atlassian:')}-starter",
    ]
    if records:
        lines.append(f"records: {records}   # the records sit inside this wrapper")
    lines += ["objects:", f"  - type: {type_name}"]
    if outer:
        lines.append(f"    # each record is an event envelope; the {type_name} is its `{outer}`")
    lines.append("    fields:")
    written: set[str] = set()
    taken: set[str] = set()
    for field in GUESSES:
        path = guess(inner, field, frozenset(taken) if field == "description" else frozenset())
        taken.add(path or "")
        need = "required" if field in required else "optional"
        if path:
            written.add(field)
            lines.append(
                f"      {field}: {_expr_for(field, prefix + path)}   "
                f"# {need}; guessed from `{prefix}{path}`"
            )
        elif field in required:
            written.add(field)
            lines.append(f"      {field}: {TODO}   # {need}: no matching key found")
    for field in sorted(
        required - set(GUESSES) - {"permissions", *_COMPUTED, type_name}
    ):
        written.add(field)
        lines.append(f"      {field}: {TODO}   # required by {type_name}: map it")
    user = guess_user(inner, prefix)  # not the envelope's user: that is who sent the event
    if user:
        written.add("createdBy")
        lines.append(f"      createdBy: {user}   # optional; guessed user reference")
    lines.append(
        "      permissions: permissions([principal('ATLASSIAN_WORKSPACE')])   "
        "# required: who may see it (workspace-wide here; replicate source ACLs if you can)"
    )
    written |= {"permissions", type_name}
    lines += _optional_lines(type_name, written)
    lines += _block_lines(type_name, required)
    return "\n".join(lines) + "\n"


def _optional_lines(type_name: str, written: set[str]) -> list[str]:
    """The optional top-level fields left out, as comments to fill in or delete."""
    left = [f for f in describe_type(type_name) if f.name not in written and not f.required]
    if not left:
        return []
    lines = ["      # optional fields not mapped (uncomment and map the ones your source has):"]
    for f in left:
        note = " (computed when not mapped)" if f.name in _COMPUTED else ""
        lines.append(f"      # {f.name}: ...   # {f.kind}{note}")
    return lines


def _block_lines(type_name: str, required: frozenset[str]) -> list[str]:
    block = next((f for f in describe_type(type_name) if f.name == type_name), None)
    if block is None:
        return []
    lines = [f"      {type_name}:   # the type-specific block"]
    for child in block.children:
        if child.required:
            lines.append(
                f"        {child.name}: {TODO}   # required {child.kind}: "
                f"{child.description[:60]}".rstrip()
            )
        else:
            lines.append(f"        # {child.name}: ...   # optional {child.kind}")
    if len(lines) == 1 + sum(1 for c in block.children if not c.required):
        lines[0] = f"      # {type_name}:   # the type-specific block (all fields optional)"
    return lines
