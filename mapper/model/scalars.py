"""Scalar field types of the TWG models: strings, numbers, URLs and RFC 3339 timestamps.

Every alias carries a `Kind` marker in its `Annotated` metadata; `introspect` reads it to
describe fields (`timestamp`, `url`, ...). Their validators live in `model.checks` (no pydantic
there: the generated fast checks call them too); they raise `PydanticCustomError`s whose type
is the stable diagnostic code; `validate` turns them into `Diagnostic`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from mapper.model.checks import MAX_JSON_DEPTH as MAX_JSON_DEPTH
from mapper.model.checks import MAX_LONG as MAX_LONG
from mapper.model.checks import TIMESTAMP_HINT as TIMESTAMP_HINT
from mapper.model.checks import URL_HINT as URL_HINT
from mapper.model.checks import check_json as check_json
from mapper.model.checks import check_not_blank as check_not_blank
from mapper.model.checks import check_number as check_number
from mapper.model.checks import check_url as check_url
from mapper.model.checks import fail as fail
from mapper.model.checks import normalise_date_or_timestamp as normalise_date_or_timestamp
from mapper.model.checks import normalise_timestamp as normalise_timestamp


@dataclass(frozen=True, slots=True)
class Kind:
    """Marker in `Annotated` metadata naming a field's kind for documentation."""

    name: str


Str = Annotated[str, Kind("string")]
"""Any string (free text may be empty)."""
Name = Annotated[
    str, StringConstraints(min_length=1), AfterValidator(check_not_blank), Kind("string")
]
"""A non-blank string: identifiers, names and required values."""
Int = Annotated[int, Kind("integer")]
Bool = Annotated[bool, Kind("boolean")]
Number = Annotated[float | int, BeforeValidator(check_number), Kind("number")]
Url = Annotated[str, AfterValidator(check_url), Kind("url")]
Timestamp = Annotated[str, BeforeValidator(normalise_timestamp), Kind("timestamp")]
DateOrTimestamp = Annotated[
    str, BeforeValidator(normalise_date_or_timestamp), Kind("date-or-timestamp")
]
Json = Annotated[Any, BeforeValidator(check_json), Kind("json")]
"""Free-form JSON whose inner keys are not checked."""
