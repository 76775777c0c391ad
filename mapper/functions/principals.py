"""Builders of TWG permissions: principal(), users(), groups(), permissions(), permissions_all().

TWG ACL semantics: "The relation of each access control is AND. Within each access control, the
relation of each principal is OR." `permissions(...)` builds the common case, one access control
whose principals are all its arguments (anyone listed may see the object); `permissions_all(...)`
builds one access control per argument (a user must satisfy every one).
"""

from __future__ import annotations

from typing import Any

from jmespath.functions import signature

from mapper.functions import inline
from mapper.functions.arguments import (
    IDS,
    PRINCIPALS,
    STRING_OR_NULL,
    TEXTUAL,
    as_id,
    iter_ids,
    optional_args,
    repeated_args,
    type_error,
)
from mapper.functions.values import json_key

# principal types that stand for a set of users by themselves and carry no id
TYPES_WITHOUT_ID = frozenset({"EVERYONE", "ATLASSIAN_WORKSPACE", "CONTAINER", "MUST_HAVE_VIEWED"})


def principal_list(function_name: str, *groups: object) -> list[dict[str, Any]]:
    """Principal objects from arrays / single objects / nulls, flattened, deduplicated, copied.

    Raises:
        JMESPathTypeError: an element is not an object (e.g. an id instead of users([...])).
    """
    if len(groups) == 1:  # the usual case: one array holding one principal, nothing to merge
        group = groups[0]
        if type(group) is list and len(group) == 1 and type(group[0]) is dict:
            return [dict(group[0])]
    seen: dict[str, dict[str, Any]] = {}
    for group in groups:
        for item in group if isinstance(group, list) else [group]:
            if item is None:
                continue
            if not isinstance(item, dict):
                raise type_error(function_name, item, ["object"])
            seen.setdefault(_key(item), dict(item))
    return list(seen.values())


def _key(principal: dict[str, Any]) -> Any:
    """A key equal for equal principals: cheap for the usual flat object of strings."""
    if all(type(value) is str for value in principal.values()):
        return tuple(sorted(principal.items()))
    return json_key(principal)


def _principals_of(kind: str, ids: object) -> list[dict[str, str]] | None:
    if ids is None:
        return None
    return [{"type": kind, "id": ident} for ident in iter_ids(kind.lower() + "s", ids)]


class PrincipalFunctions:
    """principal(), users(), groups(), permissions(), permissions_all()."""

    @inline.inline_code(inline.principal)
    @signature({"types": STRING_OR_NULL, "variadic": True})
    @optional_args(TEXTUAL)
    def _func_principal(
        self, type_: str | None, ident: str | float | None = None
    ) -> dict[str, str] | None:
        """One ACL principal `{type, id?}`; the type is upper-cased.

        USER and GROUP (and unknown types) need an id, else null. EVERYONE,
        ATLASSIAN_WORKSPACE, CONTAINER and MUST_HAVE_VIEWED never carry one (a given id is
        dropped).

        Signature: principal(type: string|null, id?: string|number|null) -> object|null

        Examples:
            principal('EVERYONE') => {"type": "EVERYONE"}
            principal('container', 'ignored') => {"type": "CONTAINER"}
            principal('user', `42`) => {"type": "USER", "id": "42"}
            principal('GROUP', missing) => null
        """
        if not type_:
            return None
        kind = type_.upper()
        if kind in TYPES_WITHOUT_ID:
            return {"type": kind}
        text = as_id(ident)
        return None if text is None else {"type": kind, "id": text}

    @inline.inline_code(inline.principals_of("USER"))
    @signature({"types": IDS})
    def _func_users(self, ids: list[Any] | str | float | None) -> list[dict[str, str]] | None:
        """USER principals from an id or an array of ids (nulls, empties, duplicates skipped).

        The ids must be the externalIds sent with setUsers. Null input gives null.

        Signature: users(ids: array|string|number|null) -> array|null

        Examples:
            users(`["u1", null, 7, "u1"]`)
                => [{"type": "USER", "id": "u1"}, {"type": "USER", "id": "7"}]
            users(missing) => null
        """
        return _principals_of("USER", ids)

    @inline.inline_code(inline.principals_of("GROUP"))
    @signature({"types": IDS})
    def _func_groups(self, ids: list[Any] | str | float | None) -> list[dict[str, str]] | None:
        """GROUP principals from an id or an array of ids (nulls, empties, duplicates skipped).

        The ids must be the externalIds sent with setGroups. Null input gives null.

        Signature: groups(ids: array|string|number|null) -> array|null

        Examples:
            groups('marketing@example.com') => [{"type": "GROUP", "id": "marketing@example.com"}]
            groups(`[]`) => []
        """
        return _principals_of("GROUP", ids)

    @inline.inline_code(inline.permissions)
    @signature({"types": PRINCIPALS, "variadic": True})
    @repeated_args(PRINCIPALS)
    def _func_permissions(self, *principals: list[Any] | dict[str, Any] | None) -> list[Any] | None:
        """TWG `permissions` with ONE access control: anyone among all the given principals.

        Each argument is an array of principals, one principal object, or null (skipped).
        Principals are merged into a single access control (OR), duplicates removed. Null when
        there is no principal at all. For AND, see permissions_all().

        Signature: permissions(principals...: array|object|null) -> array|null

        Examples:
            permissions(users('u1'), groups('g1')) => [{"accessControls": [{"principals": [
                {"type": "USER", "id": "u1"}, {"type": "GROUP", "id": "g1"}]}]}]
            permissions(principal('EVERYONE'))
                => [{"accessControls": [{"principals": [{"type": "EVERYONE"}]}]}]
            permissions(users(missing), groups('g1'))
                => [{"accessControls": [{"principals": [{"type": "GROUP", "id": "g1"}]}]}]
            permissions(users(`[]`)) => null
        """
        found = principal_list("permissions", *principals)
        return [{"accessControls": [{"principals": found}]}] if found else None

    @signature({"types": PRINCIPALS, "variadic": True})
    @repeated_args(PRINCIPALS)
    def _func_permissions_all(
        self, *controls: list[Any] | dict[str, Any] | None
    ) -> list[Any] | None:
        """TWG `permissions` with one access control PER ARGUMENT: a viewer must pass all of them.

        Each argument (an array of principals or one principal) is one access control whose
        principals are OR-ed; the access controls are AND-ed. They go into a single permission
        entry. If any argument is null or has no principal the result is null, so a missing
        part can never widen access.

        Signature: permissions_all(controls...: array|object|null) -> array|null

        Examples:
            permissions_all(users('u1'), groups('g1')) => [{"accessControls": [
                {"principals": [{"type": "USER", "id": "u1"}]},
                {"principals": [{"type": "GROUP", "id": "g1"}]}]}]
            permissions_all(users('u1'), groups(missing)) => null
        """
        lists = [principal_list("permissions_all", control) for control in controls]
        if not all(lists):
            return None
        return [{"accessControls": [{"principals": found} for found in lists]}]
