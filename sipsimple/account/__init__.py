"""Accounts: the SIP identities an application acts as (see docs/api/account.md).

``Account`` (one per SIP address, its settings and its registration),
``AccountManager`` (loads them, tracks them and the default one),
``ContactURI`` (the address an account puts in its Contact headers).
"""

from sipsimple.account.account import Account
from sipsimple.account.contact import ContactURI
from sipsimple.account.manager import AccountManager

__all__ = ["Account", "AccountManager", "ContactURI"]
