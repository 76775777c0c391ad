"""Media and meeting object types: atlassian:design, atlassian:video, atlassian:calendar-event."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from mapper.model.common import Contributor, TwgModel, TwgObject, UserRef
from mapper.model.scalars import Bool, Int, Name, Number, Str, Timestamp, Url


class DesignBlock(TwgModel):
    """Fields of atlassian:design."""

    TYPE_NAME: ClassVar[str] = "atlassian:design"
    live_embed_url: Url = Field(description="URL that embeds a live view of the design.")
    inspect_url: Url | None = Field(None, description="URL to inspect the design.")
    status: Name = Field(description="Status of the design.")
    type: Name = Field(description="Type of the design, e.g. file or frame.")
    icon_url: Url | None = Field(None, description="URL of an icon for the design.")


class DesignObject(TwgObject):
    """A design file or frame, e.g. in Figma."""

    TYPE_NAME: ClassVar[str] = "atlassian:design"
    block: DesignBlock = Field(alias="atlassian:design", description="Design fields.")


class Cue(TwgModel):
    """One caption or transcript cue of a video."""

    id: Str | None = Field(None, description="Id of the cue.")
    start_time_in_seconds: Number = Field(description="Start of the cue, in seconds.")
    end_time_in_seconds: Number | None = Field(None, description="End of the cue, in seconds.")
    text: Name = Field(description="Text of the cue.")


class TextTrack(TwgModel):
    """A caption or transcript track of a video."""

    name: Str | None = Field(None, description="Name of the track.")
    locale: Str | None = Field(None, description="Locale of the track, e.g. en-US.")
    cues: list[Cue] | None = Field(None, description="Cues of the track.")


class Chapter(TwgModel):
    """A chapter of a video."""

    start_time_in_seconds: Number | None = Field(None, description="Start, in seconds.")
    title: Str | None = Field(None, description="Title of the chapter.")


class VideoBlock(TwgModel):
    """Fields of atlassian:video."""

    TYPE_NAME: ClassVar[str] = "atlassian:video"
    thumbnail_url: Url = Field(description="URL of the video thumbnail.")
    embed_url: Url = Field(description="URL that embeds the video player.")
    duration_in_seconds: Number | None = Field(None, description="Length of the video.")
    width: Int | None = Field(None, description="Width in pixels.")
    height: Int | None = Field(None, description="Height in pixels.")
    comment_count: Int | None = Field(None, description="Number of comments.")
    text_tracks: list[TextTrack] | None = Field(None, description="Captions and transcripts.")
    chapters: list[Chapter] | None = Field(None, description="Chapters of the video.")
    contributors: list[Contributor] | None = Field(None, description="Contributing users.")


class VideoObject(TwgObject):
    """A video, like a Loom video."""

    TYPE_NAME: ClassVar[str] = "atlassian:video"
    display_name: Name = Field(description="Required for videos: the video title.")
    block: VideoBlock = Field(alias="atlassian:video", description="Video fields.")


class Attendee(TwgModel):
    """An attendee of a calendar event."""

    user: UserRef | None = Field(None, description="The attending user.")
    is_optional: Bool | None = Field(None, description="True when attendance is optional.")
    rsvp_status: Str | None = Field(None, description="RSVP answer, e.g. accepted.")


class Location(TwgModel):
    """Where a calendar event takes place."""

    name: Str | None = Field(None, description="Name of the place.")
    address: Str | None = Field(None, description="Postal address.")
    url: Url | None = Field(None, description="URL of the place.")
    coordinates: Str | None = Field(None, description="Geographic coordinates.")


class EventAttachment(TwgModel):
    """A file attached to a calendar event."""

    name: Name = Field(description="Name of the file.")
    url: Url = Field(description="URL of the file.")
    mime_type: Str | None = Field(None, description="MIME type of the file.")


class CalendarEventBlock(TwgModel):
    """Fields of atlassian:calendar-event."""

    TYPE_NAME: ClassVar[str] = "atlassian:calendar-event"
    event_start_time: Timestamp = Field(description="Start of the event.")
    event_end_time: Timestamp = Field(description="End of the event.")
    event_type: Name = Field(description="Type of the event.")
    attendees: list[Attendee] | None = Field(None, description="Attendees and their answers.")
    location: Location | None = Field(None, description="Where the event takes place.")
    video_meeting_url: Url | None = Field(None, description="URL of the video meeting.")
    recording_url: Url | None = Field(None, description="URL of the recording.")
    is_all_day_event: Bool | None = Field(None, description="True for all-day events.")
    attendee_count: Int | None = Field(None, description="Number of attendees.")
    exceeds_max_attendees: Bool | None = Field(
        None, description="True when attendees were truncated."
    )
    video_meeting_provider: Str | None = Field(None, description="Video meeting provider.")
    is_recurring_event: Bool | None = Field(None, description="True for recurring events.")
    recurring_event_id: Str | None = Field(None, description="Id of the recurring series.")
    attachments: list[EventAttachment] | None = Field(None, description="Attached files.")


class CalendarEventObject(TwgObject):
    """A calendar event or meeting."""

    TYPE_NAME: ClassVar[str] = "atlassian:calendar-event"
    block: CalendarEventBlock = Field(
        alias="atlassian:calendar-event", description="Calendar-event fields."
    )
