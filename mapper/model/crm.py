"""Customer-relationship object types: atlassian:customer-org and atlassian:deal."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from mapper.model.common import Contributor, TwgModel, TwgObject, UserRef
from mapper.model.scalars import Bool, Json, Name, Number, Str, Timestamp, Url


class LastActivity(TwgModel):
    """The most recent activity on a customer organisation or deal."""

    last_activity_at: Timestamp | None = Field(None, description="When the activity happened.")
    event: Str | None = Field(None, description="What happened.")


class MonetaryValue(TwgModel):
    """An amount of money."""

    value: Number | None = Field(None, description="The amount.")
    currency_code: Str | None = Field(None, description="ISO 4217 currency code, e.g. EUR.")


class CustomerOrgBlock(TwgModel):
    """Fields of atlassian:customer-org (all optional)."""

    TYPE_NAME: ClassVar[str] = "atlassian:customer-org"
    contacts: list[UserRef] | None = Field(None, description="Contacts at the organisation.")
    customer_org_last_activity: LastActivity | None = Field(
        None, description="Most recent activity."
    )
    customer_org_life_time_value: MonetaryValue | None = Field(
        None, description="Lifetime value of the customer."
    )
    website_url: Url | None = Field(None, description="Website of the organisation.")
    industry: Str | None = Field(None, description="Industry of the organisation.")
    contributors: list[Contributor] | None = Field(None, description="Contributing users.")
    country: Str | None = Field(None, description="Country of the organisation.")
    account_type: Str | None = Field(None, description="Type of the customer account.")


class CustomerOrgObject(TwgObject):
    """A customer organisation, e.g. a CRM account."""

    TYPE_NAME: ClassVar[str] = "atlassian:customer-org"
    display_name: Name = Field(description="Required for customer orgs: the organisation name.")
    block: CustomerOrgBlock | None = Field(
        None, alias="atlassian:customer-org", description="Customer-org fields."
    )


class DealBlock(TwgModel):
    """Fields of atlassian:deal (all optional)."""

    TYPE_NAME: ClassVar[str] = "atlassian:deal"
    contact: UserRef | None = Field(None, description="Contact for the deal.")
    stage: Str | None = Field(None, description="Pipeline stage of the deal.")
    status: Str | None = Field(None, description="Status of the deal.")
    account_name: Str | None = Field(None, description="Name of the customer account.")
    contributors: list[Contributor] | None = Field(None, description="Contributing users.")
    last_activity: LastActivity | None = Field(None, description="Most recent activity.")
    deal_closed_at: Timestamp | None = Field(None, description="When the deal was closed.")
    opportunity_amount: MonetaryValue | None = Field(None, description="Value of the deal.")
    is_closed: Bool | None = Field(None, description="True when the deal is closed.")
    entity_extended_values: Json = Field(None, description="Extra source values (free-form).")


class DealObject(TwgObject):
    """A sales deal or opportunity."""

    TYPE_NAME: ClassVar[str] = "atlassian:deal"
    display_name: Name = Field(description="Required for deals: the deal name.")
    block: DealBlock | None = Field(None, alias="atlassian:deal", description="Deal fields.")
