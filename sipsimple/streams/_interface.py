"""IMediaStream, the zope interface every stream class implements (re-exported by sipsimple.streams).

Its methods are declarations in zope.interface's style (no ``self``), which
mypy reads as malformed methods: this module alone is exempt from those
checks in pyproject.toml. Implementations are typed as usual.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface

__all__ = ["IMediaStream"]


class IMediaStream(Interface):
    """The API by which a Session drives a stream (the SIP SIMPLE middleware's IMediaStream).

    Every stream posts MediaStreamDidInitialize or MediaStreamDidFail after
    ``initialize``, MediaStreamDidStart or MediaStreamDidFail after ``start``,
    MediaStreamDidFail whenever it fails later, and MediaStreamWillEnd then
    MediaStreamDidEnd after ``end``.
    """

    type = Attribute("Class attribute: the stream type, e.g. 'audio' or 'chat'")
    priority = Attribute("Class attribute: an int; the registry tries higher priorities first")
    hold_supported = Attribute("True if the stream can be put on hold")
    on_hold_by_local = Attribute("True if the stream is on hold by the local party")
    on_hold_by_remote = Attribute("True if the stream is on hold by the remote party")
    on_hold = Attribute("True if on_hold_by_local or on_hold_by_remote")

    def new_from_sdp(account, remote_sdp, stream_index):
        """Classmethod: a new stream for media stream ``stream_index`` of the offer ``remote_sdp``, or None."""

    def get_local_media(for_offer):
        """The SDPMediaStream of this stream, for an offer (``for_offer``) or for an answer."""

    def initialize(session, direction):
        """Prepare the stream for ``session``; ``direction`` is "incoming" or "outgoing" (who proposed it)."""

    def start(local_sdp, remote_sdp, stream_index):
        """Start the stream once negotiated, as media stream ``stream_index`` of both SDPs."""

    def validate_update(remote_sdp, stream_index):
        """True if a re-offer's changes to this stream are acceptable; must change nothing."""

    def update(local_sdp, remote_sdp, stream_index):
        """Apply a successful renegotiation."""

    def hold():
        """Stop sending and receiving; get_local_media() then describes the hold."""

    def unhold():
        """Take the stream off hold."""

    def deactivate():
        """The stream is about to be removed: its transport closing from now on is not an error."""

    def end():
        """End the stream and close its transport (MediaStreamWillEnd, then MediaStreamDidEnd)."""
