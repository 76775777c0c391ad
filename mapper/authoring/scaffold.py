"""`mapper init`: a commented starter mapping guessed from the keys of a sample payload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mapper.model.introspect import describe_type, required_fields

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
TIMESTAMP_FIELDS = ("createdAt", "lastUpdatedAt")


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


def iter_paths(value: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(JMESPath, value) for every key of a record, up to three levels deep."""
    if not isinstance(value, dict) or depth > 3:
        return
    for key, child in value.items():
        name = key if key.isidentifier() else f'"{key}"'
        path = f"{prefix}.{name}" if prefix else name
        yield path, child
        yield from iter_paths(child, path, depth + 1)


def guess(record: Any, field: str) -> str | None:
    """The best path in the record for a common field, by key name, shallow paths first."""
    paths = sorted(iter_paths(record), key=lambda pv: pv[0].count("."))
    for candidate in GUESSES[field]:
        for path, value in paths:
            last = path.rsplit(".", 1)[-1].strip('"').lower()
            if last == candidate and value is not None and not isinstance(value, dict | list):
                return path
    return None


def guess_user(record: Any) -> str | None:
    """A user_ref(...) expression for the record's author/creator, if there is one."""
    if not isinstance(record, dict):
        return None
    for key in USER_KEYS:
        user = record.get(key)
        if isinstance(user, dict):
            ident = next(
                (
                    k
                    for k in ("id", "accountId", "account_id", "uuid", "login", "username", "name")
                    if user.get(k) is not None
                ),
                None,
            )
            if ident:
                email = next(
                    (k for k in ("email", "emailAddress", "email_address") if k in user), None
                )
                args = f"{key}.{ident}" + (f", {key}.{email}" if email else "")
                return f"user_ref({args})"
    return None


def _expr_for(field: str, path: str) -> str:
    return (
        f"to_rfc3339({path})"
        if field in TIMESTAMP_FIELDS
        else f"to_str({path})"
        if field == "id"
        else path
    )


def starter_mapping(sample: Any, type_name: str) -> str:
    """YAML text of a starter mapping for `type_name`, with a comment on every field."""
    record, records = find_records(sample)
    required = required_fields(type_name)
    lines = [
        "# Starter mapping written by `mapper init`: check every guess against your data.",
        "# Values are JMESPath expressions evaluated on each record; literal text is written",
        "# as {const: ...} or in single quotes. Run `mapper preview` to see the result.",
        "version: 1",
        f"name: {type_name.removeprefix('atlassian:')}-starter",
    ]
    if records:
        lines.append(f"records: {records}   # the records sit inside this wrapper")
    lines += ["objects:", f"  - type: {type_name}", "    fields:"]
    for field in GUESSES:
        path = guess(record, field)
        need = "required" if field in required else "optional"
        if path:
            lines.append(
                f"      {field}: {_expr_for(field, path)}   # {need}; guessed from `{path}`"
            )
        elif field in required:
            lines.append(f"      {field}: {{const: REPLACE-ME}}   # {need}: no matching key found")
    for field in sorted(
        required
        - set(GUESSES)
        - {"permissions", "schemaVersion", "updateSequenceNumber", type_name}
    ):
        lines.append(f"      {field}: {{const: REPLACE-ME}}   # required by {type_name}: map it")
    user = guess_user(record)
    if user:
        lines.append(f"      createdBy: {user}   # optional; guessed user reference")
    lines.append(
        "      permissions: permissions([principal('ATLASSIAN_WORKSPACE')])   "
        "# required: who may see it (workspace-wide here; replicate source ACLs if you can)"
    )
    lines += _block_lines(type_name, required)
    return "\n".join(lines) + "\n"


def _block_lines(type_name: str, required: frozenset[str]) -> list[str]:
    block = next((f for f in describe_type(type_name) if f.name == type_name), None)
    if block is None:
        return []
    lines = [f"      {type_name}:   # the type-specific block"]
    for child in block.children:
        if child.required:
            lines.append(
                f"        {child.name}: {{const: REPLACE-ME}}   # required {child.kind}: "
                f"{child.description[:60]}".rstrip()
            )
        else:
            lines.append(f"        # {child.name}: ...   # optional {child.kind}")
    if len(lines) == 1 + sum(1 for c in block.children if not c.required):
        lines[0] = f"      # {type_name}:   # the type-specific block (all fields optional)"
    return lines
