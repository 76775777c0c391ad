"""The connector file format: frozen pydantic models of `connector.yaml` and its JSON Schema.

A connector file sits beside a system's mappings and says what Atlassian needs to know about
the connector built from them: its key and name, the source system, the mappings (and users /
groups rules) it runs, the capabilities it declares, how it syncs, what it ingests and which
controls it offers admins. Most fields are optional in the shape so that a missing answer is a
located lint finding (`connector.empty-topic`), not a shape error.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, StringConstraints, Tag

from mapper.language.shapes import Shape

CONNECTOR_VERSION = 1
CAPABILITY_KEYS = ("replicatesPermissions", "syncFidelity", "supportsIncrementalSync")
SYNC_MODES = ("append", "upsert", "mirror")
TOPICS = ("dataScope", "permissions", "sync", "deletion", "controls")

Text = Annotated[str, StringConstraints(strip_whitespace=True)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
SyncMode = Literal["append", "upsert", "mirror"]


class MappingRef(Shape):
    """A mapping the connector runs, with the kind of input it reads."""

    file: Name = Field(description="Mapping file, relative to the connector file.")
    feed: Literal["listing", "events"] = Field(
        "listing",
        description="listing: each run reads every object in scope (a mirror sees deletions "
        "as absences); events: webhooks or change feeds that never show a deletion.",
    )


def _ref_tag(value: Any) -> str:
    return "[file]" if isinstance(value, str) else "[entry]"


MappingEntry = Annotated[
    Annotated[Name, Tag("[file]")] | Annotated[MappingRef, Tag("[entry]")],
    Discriminator(_ref_tag),
]


class Capabilities(Shape):
    """The `capabilities` block of the `graph:connector` module (only these three keys)."""

    replicatesPermissions: bool | None = Field(
        None, description="true: source access controls are mirrored into Teamwork Graph."
    )
    syncFidelity: SyncMode | None = Field(
        None, description="append = new objects only; upsert = and updates; mirror = and deletes."
    )
    supportsIncrementalSync: bool | None = Field(
        None, description="true: each sync sends only what changed since the last run."
    )


class Schedule(Shape):
    """How often the sync task runs (graph.scheduleOrUpdateTask's scheduleInterval)."""

    every: int = Field(ge=1, le=60, description="1 to 60.")
    unit: Literal["minutes", "hours", "days"]


class SyncSpec(Shape):
    """How the connector runs `mapper sync`: mode, state store, cursor and cadence."""

    mode: SyncMode | None = Field(None, description="As `mapper sync --mode`.")
    state: Name | None = Field(
        None,
        description="The folder of the state stores: one SQLite file per job "
        "(`mapper sync-batch JOBS --state FOLDER`, FOLDER/NAME.db): ids sent, cursor.",
    )
    cursor: Name | None = Field(
        None,
        description="JMESPath giving each record's change marker (e.g. updated_at); records "
        "not newer than the saved cursor are skipped in an incremental run.",
    )
    schedule: Schedule | None = None


class Controls(Shape):
    """Admin settings the connector offers, in words (shown in the customer controls topic)."""

    scoping: Text | None = Field(None, description="How admins choose which data is ingested.")
    permissions: Text | None = Field(None, description="How admins manage who sees the data.")
    pausing: Text | None = Field(None, description="How admins pause or stop the sync.")


class Notes(Shape):
    """Extra prose appended to a generated documentation topic."""

    dataScope: Text | None = None
    permissions: Text | None = None
    sync: Text | None = None
    deletion: Text | None = None
    controls: Text | None = None


class ConnectorSpec(Shape):
    """A connector file: a Teamwork Graph connector built from this folder's mappings."""

    version: Literal[1] = Field(description="Connector file format version (1).")
    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-_]*$")] = Field(
        description="The graph:connector module key (lower case, digits, - and _)."
    )
    name: Name = Field(description="The connector name admins see.")
    source: Text | None = Field(None, description="The source system (official name).")
    description: Text | None = None
    mappings: list[MappingEntry] = Field(
        min_length=1, description="Mapping files (or {file, feed}) producing the objects."
    )
    users: list[Name] = Field(
        default_factory=list, description="Users rules (files producing setUsers payloads)."
    )
    groups: list[Name] = Field(
        default_factory=list, description="Groups rules (files producing setGroups payloads)."
    )
    objectTypes: list[Name] = Field(
        default_factory=list, description="Object types declared in the manifest."
    )
    capabilities: Capabilities | None = None
    sync: SyncSpec = Field(default_factory=lambda: SyncSpec())
    scopes: dict[str, Text] = Field(
        default_factory=dict,
        description="Per object type, in words, which source data is ingested.",
    )
    controls: Controls = Field(default_factory=lambda: Controls())
    notes: Notes = Field(default_factory=lambda: Notes())

    def mapping_refs(self) -> list[MappingRef]:
        """The `mappings:` entries, the short form expanded to {file, feed: listing}."""
        return [MappingRef(file=m) if isinstance(m, str) else m for m in self.mappings]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a connector file, for editors (YAML language server) and tests."""
    schema = ConnectorSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://example.invalid/mapper/connector.schema.json"
    schema["title"] = "mapper connector file (version 1)"
    return schema
