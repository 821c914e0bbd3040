"""The one place routerd's version and wire-protocol major version are written down."""

VERSION = "0.1.0"
PROTOCOL_VERSION = 1
