"""Accounts: the SIP identities an application acts as (see docs/api/account.md).

``Account`` (one per SIP address, its settings and its registration),
``AccountManager`` (loads them, tracks them and the default one),
``BonjourAccount`` (the peer-to-peer account, announced and discovered over
mDNS, docs/api/bonjour.md), ``ContactURI`` (the address an account puts in
its Contact headers).
"""

from sipsimple.account.account import Account
from sipsimple.account.bonjour import BonjourAccount
from sipsimple.account.contact import ContactURI
from sipsimple.account.manager import AccountManager

__all__ = ["Account", "AccountManager", "BonjourAccount", "ContactURI"]
