"""Where streamed text sits in a dialect's stream events, so that the gateway can keep back text
that could be the start of a secret until the next piece shows it is not (``gateway.holdback``).

A dialect names each text of a stream by a *channel*, a tuple: a choice's content, one content
block, one part of one output item. ``stream_texts(event, data)`` takes one event (its name and its
decoded JSON, or its text when that is not JSON) and answers the spots in it that carry text on a
channel, and the channels the event ends, each given as a prefix of channels (``()`` ends them
all, as the stream's final event does). An event that refers to a channel's text without carrying
or ending it (an annotation, a citation) answers a spot with ``key`` None: what that channel kept
back goes out before it. ``text_event(channel, text, template)`` makes an event that
carries just ``text`` on ``channel``, like ``template`` (the last event that carried text there),
for text kept back when its channel ends without another piece to carry it. A dialect whose stream
writes each text out again, whole, when it is done (Responses: a text's ``.done``, its part's, its
item's, the response's) names those copies with ``final_texts(event, data)``: spots on the channels
``stream_texts`` named, which the gateway makes say what the deltas said.
"""

from __future__ import annotations

from typing import Any, NamedTuple

Channel = tuple[Any, ...]
ALL: tuple[Channel, ...] = ((),)   # ends every channel
NONE: tuple[Channel, ...] = ()      # ends none


class TextSpot(NamedTuple):
    """``holder[key]`` is a piece of streamed text on ``channel`` (``key`` None: the event refers
    to the channel's text, carrying none)."""

    channel: Channel
    holder: dict[str, Any]
    key: str | None


Texts = tuple[list[TextSpot], tuple[Channel, ...]]
NO_TEXTS: Texts = ([], NONE)


def whole(value: Any) -> int:
    """An index as a channel may hold it: ``value`` when it is an int, else -1 (a hostile event
    can put anything there, and a channel must be hashable)."""
    return value if type(value) is int else -1

