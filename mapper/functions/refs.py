"""Builders of TWG reference shapes: user references, EntityKeys and associations.

All of them return null rather than a half-built shape when an id is null or empty, so a missing
id surfaces as a missing (required) field; ids that are numbers become strings.
"""

from __future__ import annotations

from typing import Any

from jmespath.functions import signature

from mapper.functions import inline
from mapper.functions.arguments import (
    IDS,
    STRING_OR_NULL,
    TEXTUAL,
    as_id,
    iter_ids,
    optional_args,
)
from mapper.functions.patterns import _JIRA_KEY, JIRA_KEYS_MAX_INPUT, find_jira_keys

ASSOCIATION_TYPE = "issueIdOrKeys"  # the only association type TWG documents


def associations_of(keys: object) -> list[dict[str, Any]] | None:
    """associations(keys)."""
    values = [] if keys is None else iter_ids("associations", keys)
    return [{"associationType": ASSOCIATION_TYPE, "values": values}] if values else None


def jira_associations(value: object) -> list[dict[str, Any]] | None:
    """associations(jira_keys(value)), in one call: the keys of one string are distinct,
    non-blank strings already, and a text without `-` holds none."""
    if type(value) is str:
        if "-" not in value:
            return None
        found = _JIRA_KEY.findall(value, 0, JIRA_KEYS_MAX_INPUT)  # find_jira_keys, one call less
        return (
            [{"associationType": ASSOCIATION_TYPE, "values": list(dict.fromkeys(found))}]
            if found
            else None
        )
    return associations_of(find_jira_keys(value))


def user_reference(
    external_id: object, email: object = None, account_id: object = None
) -> dict[str, str] | None:
    """`{accountId?, email?, externalId}`, or None without an external id.

    The keys come in the order of the userReference model, so a checked object holds this
    very dict (see `fastcheck.TRUSTED_RESULTS`).
    """
    ext = as_id(external_id)
    if ext is None:
        return None
    ref: dict[str, str] = {}
    if isinstance(account_id, str) and account_id and not account_id.isspace():
        ref["accountId"] = account_id
    if isinstance(email, str) and email and not email.isspace():
        ref["email"] = email
    ref["externalId"] = ext
    return ref


def _key(type_: str | None, value: dict[str, str] | None) -> dict[str, Any] | None:
    if not type_ or value is None:
        return None
    return {"type": type_, "value": value}


class RefFunctions:
    """user_ref(), user_refs(), entity_key(), entity_key_as(), entity_key_of(), associations()."""

    @inline.inline_code(inline.user_ref)
    @signature({"types": TEXTUAL, "variadic": True})
    @optional_args(STRING_OR_NULL, STRING_OR_NULL)
    def _func_user_ref(
        self,
        external_id: str | float | None,
        email: str | None = None,
        account_id: str | None = None,
    ) -> dict[str, str] | None:
        """A TWG user reference `{externalId, email?, accountId?}`; null without an external id.

        The external id should be the id sent with setUsers. Empty or null email / accountId
        are left out.

        Signature: user_ref(externalId: string|number|null, email?: string|null,
            accountId?: string|null) -> object|null

        Examples:
            user_ref('U012AB3CD') => {"externalId": "U012AB3CD"}
            user_ref(`104`, 'dana@example.com')
                => {"externalId": "104", "email": "dana@example.com"}
            user_ref('u1', missing, '5b10ac8d') => {"externalId": "u1", "accountId": "5b10ac8d"}
            user_ref('', 'dana@example.com') => null
        """
        return user_reference(external_id, email, account_id)

    @signature({"types": IDS})
    def _func_user_refs(self, ids: list[Any] | str | float | None) -> list[dict[str, str]] | None:
        """User references `[{externalId}]` from an id or an array of ids (for owners, members).

        Null and empty ids are skipped and duplicates removed; null input gives null.
        Array elements must be strings, numbers or null (pass `users[].id`, not `users`).

        Signature: user_refs(ids: array|string|number|null) -> array|null

        Examples:
            user_refs(`["u1", 2, null, "u1"]`) => [{"externalId": "u1"}, {"externalId": "2"}]
            user_refs('u1') => [{"externalId": "u1"}]
            user_refs(missing) => null
        """
        if ids is None:
            return None
        return [{"externalId": ext} for ext in iter_ids("user_refs", ids)]

    @signature({"types": STRING_OR_NULL}, {"types": TEXTUAL})
    def _func_entity_key(
        self, type_: str | None, entity_id: str | float | None
    ) -> dict[str, Any] | None:
        """A generic EntityKey `{type, value: {entityId}}` (parentKey, containerKey).

        Signature: entity_key(type: string|null, id: string|number|null) -> object|null

        Examples:
            entity_key('atlassian:conversation', 'C024BE91L')
                => {"type": "atlassian:conversation", "value": {"entityId": "C024BE91L"}}
            entity_key('atlassian:document', `17`)
                => {"type": "atlassian:document", "value": {"entityId": "17"}}
            entity_key('atlassian:document', parent) => null
        """
        entity = as_id(entity_id)
        return _key(type_, None if entity is None else {"entityId": entity})

    @inline.inline_code(inline.entity_key_as)
    @signature({"types": STRING_OR_NULL}, {"types": STRING_OR_NULL}, {"types": TEXTUAL})
    def _func_entity_key_as(
        self, type_: str | None, field: str | None, entity_id: str | float | None
    ) -> dict[str, Any] | None:
        """A non-generic EntityKey whose value has one named field, e.g. `{repositoryId}`.

        Signature: entity_key_as(type: string|null, field: string|null, id: string|number|null)
            -> object|null

        Examples:
            entity_key_as('atlassian:branch', 'repositoryId', 'repo-123')
                => {"type": "atlassian:branch", "value": {"repositoryId": "repo-123"}}
            entity_key_as('atlassian:remote-link', 'remoteLinkId', missing) => null
        """
        entity = as_id(entity_id)
        if entity is None or not field or field.isspace():
            return None
        return _key(type_, {field: entity})

    @signature({"types": STRING_OR_NULL}, {"types": ["object", "null"]})
    def _func_entity_key_of(
        self, type_: str | None, value: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """A composed EntityKey from a value object, e.g. `{repositoryId, commitHash}`.

        Every value field must be a non-empty string or a number (made a string), else null.

        Signature: entity_key_of(type: string|null, value: object|null) -> object|null

        Examples:
            entity_key_of('atlassian:commit', {repositoryId: repo, commitHash: sha})
                | data: {"repo": 9, "sha": "ab12"}
                => {"type": "atlassian:commit",
                    "value": {"repositoryId": "9", "commitHash": "ab12"}}
            entity_key_of('atlassian:commit', {repositoryId: repo, commitHash: sha})
                | data: {"repo": 9} => null
            entity_key_of('atlassian:commit', `{}`) => null
        """
        if not value:
            return None
        fields = {name: as_id(item) for name, item in value.items()}
        if any(text is None for text in fields.values()):
            return None
        return _key(type_, fields)  # type: ignore[arg-type]

    @signature({"types": IDS})
    def _func_associations(
        self, keys: list[Any] | str | float | None
    ) -> list[dict[str, Any]] | None:
        """TWG associations `[{associationType: "issueIdOrKeys", values}]` from issue keys or ids.

        Takes a key, an id or an array of them (typically jira_keys(...)); nulls and duplicates
        are dropped, numbers become strings. Null when there is no key, so the optional field
        is left out.

        Signature: associations(keys: array|string|number|null) -> array|null

        Examples:
            associations(jira_keys(title, branch))
                | data: {"title": "ABC-1 fix", "branch": "ABC-1-x"}
                => [{"associationType": "issueIdOrKeys", "values": ["ABC-1"]}]
            associations(`[10001, "MAP-17"]`)
                => [{"associationType": "issueIdOrKeys", "values": ["10001", "MAP-17"]}]
            associations(`[]`) => null
        """
        return associations_of(keys)
