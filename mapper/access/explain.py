"""Answers of the access graph in words (plain text for people) and as JSON-ready dicts.

The rule, as every answer states it: a user sees an object when every access control grants
them (AND), and an access control grants them when any of its principals does (OR).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from mapper.access.answers import Audience, Control, Decision, Grant, ObjectRef

RULE = (
    "a user sees the object when every access control grants them (AND); an access control "
    "grants them when any one of its principals does (OR)"
)
User = tuple[str, str | None, str | None]  # id, display name, email


def user_rows(db: sqlite3.Connection, ids: Iterable[str]) -> list[User]:
    """Names and emails of users, sorted by id."""
    rows = []
    for user_id in sorted(ids):
        found = db.execute("SELECT name, email FROM users WHERE id = ?", (user_id,)).fetchone()
        rows.append((user_id, *(found or (None, None))))
    return rows


def via(audience: Audience, user: str) -> str:
    """Through which principal of each access control `user` is in the audience."""
    return "; ".join(_via_control(c, user) for c in audience.controls)


def _via_control(control: Control, user: str) -> str:
    for grant in control.grants:
        if user in grant.users:
            inner = f" > {via(grant.container, user)}" if grant.container else ""
            return f"{grant.principal}{inner}"
    return str(next((g.principal for g in control.grants if g.open), "-"))


def audience_lines(audience: Audience, users: list[User]) -> list[str]:
    """Who can see the object, then why, indented per access control and principal."""
    obj = audience.obj
    lines = [_title(obj)]
    if audience.open:
        lines.append(f"who can see it: {_open_words(audience.open)}")
    else:
        lines.append(f"who can see it: {len(users)} user(s)")
    lines.extend(_table(users, audience))
    lines.append(f"why ({RULE}):")
    lines.extend(_tree(audience, "  "))
    lines.extend(f"problem: {p}" for p in audience.problems)
    return lines


def _open_words(kind: str) -> str:
    if kind == "EVERYONE":
        return "everyone, logged in or anonymous (EVERYONE)"
    return "everyone in the Atlassian workspace (ATLASSIAN_WORKSPACE)"


def _title(obj: ObjectRef) -> str:
    name = f' "{obj.name}"' if obj.name else ""
    return f"{obj.type} {obj.id}{name}"


def _table(users: list[User], audience: Audience) -> list[str]:
    if not users:
        return []
    rows = [("user", "name", "email", "granted by")]
    rows += [(u, n or "", e or "", via(audience, u)) for u, n, e in users]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
        for r in rows
    ]


def _tree(audience: Audience, indent: str) -> list[str]:
    lines = []
    total = len(audience.controls)
    for control in audience.controls:
        lines.append(f"{indent}access control {control.index + 1} of {total}, any of:")
        for grant in control.grants:
            lines.extend(_grant_lines(grant, indent + "  "))
    return lines


def _grant_lines(grant: Grant, indent: str) -> list[str]:
    reach = (
        _open_words(grant.open) if grant.open and not grant.users
        else f"{len(grant.users)} user(s)"
    )
    line = f"{indent}{grant.principal}: {grant.words} -> {reach}"
    if grant.problem:
        line += f" ({grant.problem})"
    lines = [line]
    if grant.container is not None:
        lines.append(f"{indent}  {_title(grant.container.obj)}:")
        lines.extend(_tree(grant.container, indent + "    "))
    return lines


def audience_dict(audience: Audience, users: list[User]) -> dict[str, Any]:
    """The answer as JSON data."""
    return {
        "object": _object_dict(audience.obj),
        "rule": RULE,
        "open": audience.open,
        "users": [
            {"id": u, "displayName": n, "email": e, "grantedBy": via(audience, u)}
            for u, n, e in users
        ],
        "accessControls": [_control_dict(c) for c in audience.controls],
        "problems": list(audience.problems),
    }


def _object_dict(obj: ObjectRef) -> dict[str, Any]:
    container = {"type": obj.container[0], "id": obj.container[1]} if obj.container else None
    return {"type": obj.type, "id": obj.id, "displayName": obj.name, "container": container}


def _control_dict(control: Control) -> dict[str, Any]:
    return {
        "open": control.open,
        "users": sorted(control.users),
        "principals": [_grant_dict(g) for g in control.grants],
    }


def _grant_dict(grant: Grant) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": grant.principal.type,
        "id": grant.principal.id,
        "meaning": grant.words,
        "users": sorted(grant.users),
        "open": grant.open,
        "problem": grant.problem,
    }
    if grant.container is not None:
        out["container"] = {
            "object": _object_dict(grant.container.obj),
            "accessControls": [_control_dict(c) for c in grant.container.controls],
        }
    return out


def decision_lines(decision: Decision) -> list[str]:
    """Whether one user sees the object, and what grants (or fails) each access control."""
    verdict = "can see" if decision.allowed else "cannot see"
    lines = [f"{decision.user} {verdict} {_title(decision.obj)}", f"why ({RULE}):"]
    total = len(decision.reasons)
    for number, reason in enumerate(decision.reasons, 1):
        lines.append(
            f"  access control {number} of {total}: "
            + (f"granted by {reason}" if reason else "no principal grants this user")
        )
    if not decision.reasons:
        lines.append("  the object has no access controls: nobody can see it")
    if not decision.is_user:
        lines.append(
            f"note: no user with externalId {decision.user!r} was sent with setUsers, so only "
            "EVERYONE / ATLASSIAN_WORKSPACE can reach them"
        )
    return lines


def decision_dict(decision: Decision) -> dict[str, Any]:
    """One user's answer as JSON data."""
    return {
        "object": _object_dict(decision.obj),
        "user": decision.user,
        "userSent": decision.is_user,
        "canSee": decision.allowed,
        "accessControls": [{"grantedBy": r} for r in decision.reasons],
    }


def visible_row(decision: Decision) -> tuple[str, str, str, str]:
    """One line of `can-see`: type, id, name and the reason."""
    obj = decision.obj
    return obj.type, obj.id, obj.name or "", " AND ".join(r or "-" for r in decision.reasons)
