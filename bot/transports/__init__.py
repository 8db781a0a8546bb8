"""Transports: the only modules that know a messenger. Each turns platform updates into
`Incoming` events and `OutgoingMessage`s into platform calls."""
