# Credentials for digest authentication: Credentials and FrozenCredentials.

class _CredentialsBase(_Value):
    __slots__ = ("_username", "_password", "_realm")

    def __init__(self, username, password, realm="*"):
        _set(self, "_username", _check_username(username))
        _set(self, "_password", _check_credential(password, "password"))
        _set(self, "_realm", _check_credential(realm, "realm"))

    username = _slot("_username", "User name for digest authentication.", lambda value: _check_username(value))
    password = _slot("_password", "Password.", lambda value: _check_credential(value, "password"))
    realm = _slot("_realm", "Realm these credentials are for; \"*\" for any realm.",
                  lambda value: _check_credential(value, "realm"))

    def _key(self):
        return (self._username, self._password, self._realm)

    def _args(self):
        return (self._username, self._password, self._realm)

    def __repr__(self):
        return "%s(%r, '***', %r)" % (type(self).__name__, self._username, self._realm)


_CredentialsBase._family = _CredentialsBase


cdef object _check_username(object value):
    _check_credential(value, "username")
    if not value:
        raise ValueError("username must not be empty")
    return value


cdef object _check_credential(object value, str what):
    _check_str(value, what)
    _check_text(value, what)
    return value


class Credentials(_CredentialsBase):
    """User name, password and realm for digest authentication (mutable; see FrozenCredentials)."""

    __slots__ = ()
    __hash__ = None


class FrozenCredentials(_FrozenValue, _CredentialsBase):
    """Immutable, hashable Credentials."""

    __slots__ = ()
