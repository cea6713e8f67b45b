"""noloss: can an acknowledged message be lost, and how?

One package: `noloss.spec` (the protocol as a pure state machine), `noloss.model_check`
(the explicit-state checker), `noloss.reference` (a real broker and its clients),
`noloss.conformance` (checking implementations against the spec) and `noloss.cli` (the
command line, the only part that parses argv or reads users' files).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("noloss")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
