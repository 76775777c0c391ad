"""Access after ingestion: who can see what, from a run's objects, users and groups.

`outputs` reads run outputs (JSONL, setObjects / setUsers / setGroups batches) as `Entry`s;
`acl` holds the permission rule (AND across access controls, OR within one); `checks` finds
principals that name no user or group; `store` is the SQLite index (`mapper index`) and
`graph` answers `who-can-see` and `can-see` from it (its answers are the types of `answers`,
read through `reads`; `explain` renders them).
"""
