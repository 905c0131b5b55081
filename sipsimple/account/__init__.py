"""Accounts: the SIP identities an application acts as (see docs/api/account.md)."""

from sipsimple.account.contact import ContactURI

__all__ = ["ContactURI"]
