"""Secrets kept out of a streamed answer even when the upstream sends one in pieces.

The client reads a stream's text as the concatenation of its deltas, so blanking each event alone
is not enough: ``"sk-ant-api03-AAAA"`` in one text delta and ``"BBBB..."`` in the next reach the
client whole. ``Holdback`` reads the client's events one by one and, for each text channel the
dialect names (``routerd.dialects.texts``: a choice, a content block, an output item's part),
keeps back the end of the text that could be the start of a secret, until the next piece on that
channel shows whether it is (then it is blanked whole) or not (then it goes out with that piece).
What is kept back is at most the longest secret less one character per channel, and goes out
before the event that ends its channel, or at the end of the stream (a start of a secret longer
than its kind's few characters blanked, since nothing can follow it any more; the next text to
start, which a client may join to it, has the rest of such a secret blanked). An event that refers
to a channel's text without ending it (a Responses annotation, an Anthropic citation) follows
that text: what the channel kept back goes out just before it, by the same rule as at an end
(a few characters shown, more blanked), and the channel goes on as if they were still kept back,
so that the rest of a secret they start is blanked when it comes (to the mask the client has
for it already, when that is what it was shown). A copy of a text that a dialect writes out whole
when it is done (``final_texts``) is made to say what the deltas said, blanked the same way.

An event whose text is sent as it came is sent as the very bytes it came in; only an event whose
text changed is encoded again, with the ``id`` and ``retry`` lines it came with. Every event is also blanked as bytes (``Redactor.blank``), which
catches a secret within one event in any JSON spelling, in fields that are not text too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from routerd.dialects.base import Dialect
from routerd.dialects.sse import EVENT_END, EventCutter, SSEDecoder, encode_event
from routerd.dialects.texts import Channel, TextSpot
from routerd.errors import UpstreamBadResponse
from routerd.gateway.usage import MAX_EVENT_BYTES
from routerd.redact import Redactor

# Channels holding text back at once: more than a real answer has (OpenAI's n is at most 128
# choices, each with its text and reasoning), few enough that an upstream opening channels
# without end holds little memory.
MAX_HELD_CHANNELS = 256
# What a channel that ends in the start of a secret may show of it: a key's first characters name
# its kind (``sk-ant-``, ``sk-proj``), which ordinary text may well end in; a longer start is
# blanked, or an upstream could send a key all but its last character and end the text there.
SHOWN_AT_END = 7
_MASK = "***"
_decode = msgspec.json.decode
_encode = msgspec.json.encode


class Holdback:
    """One stream's events, secrets blanked, each text channel's possible secret start kept back.
    ``feed`` takes bytes cut anywhere and returns whole events; ``close`` ends the stream. Raises
    ``UpstreamBadResponse`` for text on a channel its stream already ended (what was kept back went
    out, so the rest could complete a secret), when too many channels hold text at once, and for
    an event that looks like JSON but does not decode (its text could not be seen)."""

    __slots__ = ("_redactor", "_dialect", "_texts", "_skip", "_secrets", "_by_first", "_window", "_cutter",
                 "_unsent", "_sse", "_held", "_early", "_templates", "_ended", "_over", "_shown",
                 "_showing", "_finals", "_read", "_said", "_noted", "_masked", "text_chars")

    def __init__(self, redactor: Redactor, dialect: Dialect, skip: Callable[[bytes], bool] | None = None) -> None:
        self._redactor = redactor
        self._dialect = dialect
        self._texts = dialect.codec.stream_texts  # on every event: one call less than the method
        self._skip = skip  # events the client must not see (the usage chunk it did not ask for)
        self._secrets = sorted((s for s in redactor.secrets if s), key=len, reverse=True)
        by_first: dict[str, list[str]] = {}
        for secret in self._secrets:
            by_first.setdefault(secret[0], []).append(secret)
        self._by_first = tuple((first, tuple(group)) for first, group in by_first.items())
        self._window = max(map(len, self._secrets), default=1) - 1  # what a secret's start can be
        self._cutter = EventCutter()
        self._unsent = b""  # events read before one that was refused, for ``close``
        self._sse = SSEDecoder()
        self._held: dict[Channel, str] = {}
        # A start of a secret a channel let go before an event referring to its text (``_release``):
        # the client has it, or the mask for it, and its next text is read after it.
        self._early: dict[Channel, str] = {}
        self._templates: dict[Channel, Any] = {}
        self._ended: set[Channel] = set()
        self._over = False  # the stream's final event went out
        self._shown = ""  # the start of a secret the last text to end showed at its end
        # Whether a text ended by the event being read showed one: ``_shown`` cannot say, as the
        # next text (another choice's, in the same chunk) takes it (``_after_shown``).
        self._showing = False
        # For a dialect that writes each text out again when it is done (``Codec.final_texts``):
        # each channel's text as read and as the client read it, so that the final copy can say
        # what the deltas said; the latter only from the first piece sent otherwise than read.
        self._finals = dialect.codec.final_texts
        self._read: dict[Channel, list[str]] = {}
        self._said: dict[Channel, list[str]] | None = None
        self._noted = 0  # characters kept in ``_read``
        # Channels whose text let go early went out as the mask: the mask the rest of that secret
        # is blanked to when it comes is the one the client has already.
        self._masked: set[Channel] = set()
        self.text_chars = 0  # streamed text read so far (when there are secrets to look for)

    @property
    def reads_text(self) -> bool:
        """Whether ``text_chars`` counts the stream's text: only when there are secrets to look
        for is each event's text read at all."""
        return bool(self._secrets)

    def feed(self, data: bytes) -> bytes:
        """The whole events ``data`` completes, ready for the client. When one is refused, those
        before it wait for ``close`` and the rest of ``data`` is dropped: the stream ends there."""
        out: list[bytes] = []
        try:
            for raw in self._split(data):
                out.append(self._event(raw))
        except UpstreamBadResponse:
            self._unsent = b"".join(out)
            self._cutter.rest()
            raise
        return b"".join(out)

    def close(self, last: bytes = b"") -> bytes:
        """The end of the stream: the rest of an event cut short, read as one, then ``last`` (the
        stream's closing or error events), then what is still kept back. Never raises: an event
        with text after its channel's end is dropped here."""
        rest = self._cutter.rest()
        events = [rest + b"\n\n"] if rest.strip() else []
        out, self._unsent = [self._unsent], b""
        for raw in events + self._split(last):
            try:
                out.append(self._event(raw))
            except UpstreamBadResponse:
                pass
        out.extend(self._flush(channel) for channel in list(self._held))
        return b"".join(out)

    def _split(self, data: bytes) -> list[bytes]:
        """The events ``data`` completes, as bytes; the rest waits in ``_cutter`` (its size is
        bounded where upstream bytes are first read: ``UsageMeter.feed_stream``)."""
        events = self._cutter.feed(data)
        if not events:
            return []
        if b"\r" not in events:
            return [event + b"\n\n" for event in events.split(b"\n\n")[:-1]]
        ends = [m.end() for m in EVENT_END.finditer(events)]
        return [events[start:end] for start, end in zip([0, *ends], ends)]

    def _parse(self, raw: bytes) -> tuple[str | None, Any] | None:
        """An event's name and its data, decoded when it is JSON; None for one without data. Data
        that holds a ``{`` and does not decode raises ``UpstreamBadResponse``."""
        name = None
        body = raw if b"\r" not in raw else b""  # CR line ends: the SSE parser's
        if body.startswith(b"event: ") and (line := body.find(b"\n")) > 0:
            name, body = body[7:line].decode("utf-8", "replace"), body[line + 1:]
        if body.startswith(b"data: ") and body.count(b"\n") == 2:  # one data line: the usual event
            data: Any = body[6:-2]
        else:
            parsed = self._sse.feed(raw)
            if not parsed:
                return None
            name, data = parsed[0]
        if (b"{" if isinstance(data, bytes) else "{") in data:
            # What a client's JSON reader takes (NaN, 1e400, a lone surrogate, whitespace first) and
            # this one does not could carry text unseen: such an event is refused, not relayed.
            try:
                return name, _decode(data)
            except (msgspec.DecodeError, RecursionError):
                raise UpstreamBadResponse("an event that is not JSON routerd can read") from None
        return name, data.decode("utf-8", "replace") if isinstance(data, bytes) else data

    def _event(self, raw: bytes) -> bytes:
        if self._skip is not None and self._skip(raw):
            return b""
        raw = self._redactor.blank(raw)
        if not self._secrets:
            return raw
        parsed = self._parse(raw)
        if parsed is None:
            return raw
        name, data = parsed
        spots, ends = self._texts(name, data)
        if not spots and not ends and (self._said is None or self._finals is None):
            return raw  # no text, and no copy of one to make say what the deltas said
        before = b""
        if ends:
            self._shown = ""  # what ends here says what it showed (``_ending``)
            self._showing = False
        if ends and self._held:  # texts this event ends with no piece of theirs in it: their rest first
            closing = [c for c in self._held if _ends(ends, c) and not any(s.channel == c for s in spots)]
            before = b"".join(self._flush(channel) for channel in closing)
        changed = False
        # An ending event with more than one piece of a text (Gemini's last chunk in parts, a chat
        # chunk naming a choice twice): the text ends with its last piece, the others are read on.
        last = {spot.channel: at for at, spot in enumerate(spots)} if ends and len(spots) > 1 else None
        for at, spot in enumerate(spots):
            if spot.key is None:  # refers to the channel's text: what it kept back goes first
                if spot.channel in self._held:
                    before += self._release(spot.channel)
                continue
            piece = spot.holder[spot.key]
            self.text_chars += len(piece)
            final = bool(ends) and _ends(ends, spot.channel) and (last is None or last[spot.channel] == at)
            sent = self._take(spot.channel, piece, data, final)
            if self._finals is not None:
                self._note(spot.channel, piece, sent)
            if sent != piece:
                spot.holder[spot.key] = sent
                changed = True
        if self._said is not None and self._finals is not None:  # (read after this event's own pieces)
            for spot in self._finals(name, data):
                changed = self._final(spot) or changed
        if ends and self._early:  # texts ended here in what they let go early: as if shown at their end
            for channel in [c for c in self._early if _ends(ends, c)]:
                self._shown, self._showing = self._early.pop(channel), True
                self._masked.discard(channel)
        if ends:
            self._over = self._over or () in ends
            if self._showing:  # more text there could finish what it showed: refused (``_take``)
                if len(self._ended) >= MAX_HELD_CHANNELS:
                    raise UpstreamBadResponse(f"more than {MAX_HELD_CHANNELS} texts ended in a secret's start")
                self._ended.update(ends)
        if changed:
            raw = _kept_fields(raw) + encode_event(name, _encode(data).decode())
        return before + raw if before else raw

    def _take(self, channel: Channel, piece: str, event: Any, final: bool) -> str:
        """What of ``piece`` (the channel's next text) goes out now: whole secrets blanked, the
        end that could start one kept back unless the channel ends here."""
        if piece and (self._over or self._ended) and self._has_ended(channel):
            raise UpstreamBadResponse(f"text on a stream's channel after its end ({channel!r})")
        held = self._held.pop(channel, None)
        early = self._early.pop(channel, "") if self._early else ""
        masked = bool(early) and channel in self._masked
        if masked:
            self._masked.discard(channel)
        if held is not None or early:
            text = early + (held or "") + piece
        elif piece and self._shown:
            text = self._after_shown(piece)
        else:
            text = piece
        self._templates.pop(channel, None)
        text = self._blank(text)
        if final:
            text = self._ending(text)
            return text[_after(text, early, masked):]
        sent = _common(text, early)  # what the client has of it already (a secret begun there: blanked)
        start = self._start_of_secret(text)
        cut = max(start, _after(text, early, masked))
        if cut < len(text):
            if len(self._held) >= MAX_HELD_CHANNELS:
                raise UpstreamBadResponse(f"more than {MAX_HELD_CHANNELS} texts streamed at once")
            self._held[channel] = text[cut:]
            self._templates[channel] = event
        if start < sent:  # what went out early may still start a secret with what follows it
            self._early[channel] = text[start:sent]
            if masked:
                self._masked.add(channel)
        return text[_after(text, early, masked):cut]

    def _blank(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _MASK)
        return text

    def _ending(self, text: str) -> str:
        """``text`` as its channel's last: a start of a secret at its end shown only up to
        ``SHOWN_AT_END`` characters (and kept in ``_shown``), else blanked."""
        cut = self._start_of_secret(text)
        if len(text) - cut > SHOWN_AT_END:
            return text[:cut] + _MASK
        self._shown = text[cut:]
        self._showing = self._showing or cut < len(text)
        return text

    def _after_shown(self, piece: str) -> str:
        """The first piece of a text after one that ended showing a secret's first characters: a
        client that joins the two (text blocks one after another) must not read the secret whole,
        so the rest of it is blanked here."""
        shown, self._shown = self._shown, ""
        joined = self._blank(shown + piece)
        return joined[len(shown):] if joined.startswith(shown) else joined

    def _start_of_secret(self, text: str) -> int:
        """Where the longest end of ``text`` that a secret starts with begins (``len(text)``: none)."""
        low = max(0, len(text) - self._window)
        cut = len(text)
        for first, group in self._by_first:
            at = text.find(first, low, cut)
            while at >= 0:
                rest = text[at:]
                if any(len(rest) < len(s) and s.startswith(rest) for s in group):
                    cut = at
                    break
                at = text.find(first, at + 1, cut)
        return cut

    def _flush(self, channel: Channel) -> bytes:
        """An event with what ``channel`` kept back: its end came without a piece to carry it."""
        early = self._early.pop(channel, "") if self._early else ""
        masked = bool(early) and channel in self._masked
        if masked:
            self._masked.discard(channel)
        text = self._ending(early + self._held.pop(channel))
        sent = text[_after(text, early, masked):]
        if self._finals is not None:
            self._note(channel, "", sent)
        name, data = self._dialect.text_event(channel, sent, self._templates.pop(channel))
        return encode_event(name, _encode(data).decode())

    def _release(self, channel: Channel) -> bytes:
        """An event with what ``channel`` kept back, before an event that refers to its text: a
        start of a secret of a kind's few characters shown, a longer one blanked (``_ending``),
        and kept in ``_early`` so that the channel's next text is read after it."""
        early = self._early.pop(channel, "")
        text = early + self._held.pop(channel)
        shown = text if len(text) <= SHOWN_AT_END else text[:len(early)] + _MASK
        if len(self._early) >= MAX_HELD_CHANNELS:
            raise UpstreamBadResponse(f"more than {MAX_HELD_CHANNELS} texts referred to in a secret's start")
        self._early[channel] = text
        if shown != text:
            self._masked.add(channel)
        if self._finals is not None:
            self._note(channel, "", shown[len(early):])
        name, data = self._dialect.text_event(channel, shown[len(early):], self._templates.pop(channel))
        return encode_event(name, _encode(data).decode())

    def _note(self, channel: Channel, read: str, said: str) -> None:
        """Keeps what a piece of ``channel``'s text was read as and what went out for it. Past
        ``MAX_EVENT_BYTES`` characters in all, nothing more: no event that copies them all can
        arrive (the meter refuses a longer one), and an endless stream must not fill memory."""
        self._noted += len(read)
        if self._noted > MAX_EVENT_BYTES:
            self._finals, self._read, self._said = None, {}, None
            return
        if self._said is None and read != said:  # what came before went out as it was read
            self._said = {c: list(pieces) for c, pieces in self._read.items()}
        self._read.setdefault(channel, []).append(read)
        if self._said is not None:
            self._said.setdefault(channel, []).append(said)

    def _final(self, spot: TextSpot) -> bool:
        """Writes into a final copy of a text what its deltas said, when they said it otherwise
        (a secret's start blanked at the end, a key's start shown before an annotation) and the
        copy is the text they were read as. Whether it changed anything."""
        said = self._said.get(spot.channel) if self._said is not None else None
        if said is None or spot.key is None:
            return False
        text, read = "".join(said), "".join(self._read[spot.channel])
        final = spot.holder[spot.key]
        if text == final or final not in (read, self._blank(read)):
            return False
        spot.holder[spot.key] = text
        return True

    def _has_ended(self, channel: Channel) -> bool:
        return self._over or any(channel[:n] in self._ended for n in range(1, len(channel) + 1))


def _kept_fields(raw: bytes) -> bytes:
    """The ``id`` and ``retry`` lines of an event, which an event written anew carries on: a client
    keeps the last id to resume a stream from and the retry time to wait before reconnecting."""
    lines = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    return b"".join(line + b"\n" for line in lines if line.partition(b":")[0] in (b"id", b"retry"))


def _common(text: str, early: str) -> int:
    """How much of ``early`` (what a channel let go early) ``text`` (its text read after it) still
    starts with: all of it, unless a secret that began in it was blanked."""
    if text.startswith(early):
        return len(early)
    return next((n for n, (a, b) in enumerate(zip(text, early)) if a != b), min(len(text), len(early)))


def _after(text: str, early: str, masked: bool) -> int:
    """Where in ``text`` (a channel's text read after ``early``, let go early) what the client has
    not had begins: past ``early``, or past the mask of a secret it started when the client had
    that mask for it (``masked``) already."""
    sent = _common(text, early)
    return sent + len(_MASK) if masked and text.startswith(_MASK, sent) else sent


def _ends(ends: tuple[Channel, ...], channel: Channel) -> bool:
    return any(channel[:len(prefix)] == prefix for prefix in ends)
