"""mapper: YAML mappings from raw source JSON to validated Atlassian Teamwork Graph objects.

>>> import mapper
>>> plan = mapper.compile_text('''
... version: 1
... objects:
...   - type: atlassian:repository
...     fields:
...       id: full_name
...       displayName: full_name
...       url: html_url
...       createdAt: to_rfc3339(created_at)
...       lastUpdatedAt: to_rfc3339(updated_at)
...       permissions: permissions([principal('ATLASSIAN_WORKSPACE')])
... ''')[0]
>>> result = mapper.apply(plan, {"full_name": "acme/api", "html_url": "https://github.com/acme/api",
...                              "created_at": 1714564800, "updated_at": "2024-05-02T08:00:00Z"})
>>> result.objects[0].payload["createdAt"], result.objects[0].payload["updateSequenceNumber"]
('2024-05-01T12:00:00Z', 1714636800000)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mapper._lazy import lazy_names

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562): a fast start-up
    from mapper.api import apply as apply
    from mapper.api import apply_all as apply_all
    from mapper.api import compile_path as compile_path
    from mapper.api import compile_text as compile_text
    from mapper.api import load as load
    from mapper.errors import Diagnostic as Diagnostic
    from mapper.errors import MapperError as MapperError
    from mapper.errors import SpecError as SpecError
    from mapper.language.plan import Plan as Plan
    from mapper.records import MappedObject as MappedObject
    from mapper.records import Record as Record
    from mapper.records import RecordResult as RecordResult
    from mapper.records import RejectedItem as RejectedItem

_LAZY = {
    "apply": "mapper.api",
    "apply_all": "mapper.api",
    "compile_path": "mapper.api",
    "compile_text": "mapper.api",
    "load": "mapper.api",
    "Diagnostic": "mapper.errors",
    "MapperError": "mapper.errors",
    "SpecError": "mapper.errors",
    "Plan": "mapper.language.plan",
    "MappedObject": "mapper.records",
    "Record": "mapper.records",
    "RecordResult": "mapper.records",
    "RejectedItem": "mapper.records",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY)


__version__ = "0.1.0"
__all__ = [
    "Diagnostic",
    "MappedObject",
    "MapperError",
    "Plan",
    "Record",
    "RecordResult",
    "RejectedItem",
    "SpecError",
    "__version__",
    "apply",
    "apply_all",
    "compile_path",
    "compile_text",
    "load",
]
