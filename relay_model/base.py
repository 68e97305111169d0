"""Base msgspec structs: camelCase on the wire, keyword-only fields.

Stored records never forbid unknown fields: during a rolling deploy an old node reads what a new
one wrote, so new fields always carry defaults.
"""

import msgspec


class Model(msgspec.Struct, kw_only=True, rename="camel"):
    """A record as stored and as served."""


class Input(msgspec.Struct, kw_only=True, rename="camel"):
    """A request body. Unknown fields are ignored so clients of the original keep working."""
