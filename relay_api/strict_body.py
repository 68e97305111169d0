"""JSON request bodies are decoded with strict types: `"true"` is not a boolean, `"12"` not an integer.

Litestar validates handler arguments with `msgspec.convert(..., strict=False)` because query and path
parameters arrive as strings; the same lax rules would let a JSON body's `{"claimable": "true"}` or
`{"ttlSeconds": "60"}` through, where the seed refuses them (`typeof body.ttlSeconds !== "number"`).

`StrictBodyRequest` is the request class of the /api router. Its `json()` decodes the raw body
straight into the handler's `data` type with `strict=True`, one msgspec pass instead of Litestar's two
(decode to builtins, then convert). Litestar's signature model then receives the finished struct, which
`msgspec.convert` hands through unchanged, so query and path parameters keep their lax conversion.
A type failure is raised as the `ValidationException` Litestar itself raises (`extra` =
`[{"message", "key", "source": "body"}]`), so relay_api/errors.py words it like any other. Only the
answers to wrong types change: malformed, too deep, empty or non-object bodies answer as before, and an
integer field written `12.0` is still an integer, as it is to the seed's `Number.isSafeInteger`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.serialization import default_deserializer
from litestar.types import Empty

from relay_model.validation import MAX_SAFE_INT

# Where msgspec says a failure is: "Expected `int`, got `str` - at `$.pid`" (no suffix at the root).
_AT = re.compile(r"`\$\.(.+)`$")

# One decoder per body type (a handler's `data` annotation, without JSONBody's Annotated wrapper)
# and the type decoders in force for it.
_DECODERS: dict[tuple[Any, tuple[Any, ...]], msgspec.json.Decoder[Any]] = {}


def body_decoder(handler: HTTPRouteHandler) -> msgspec.json.Decoder[Any] | None:
    """The strict decoder for a handler's `data` body, or None when it takes none (or takes `Any`)."""
    param = handler.parsed_fn_signature.parameters.get("data")
    if param is None or param.annotation is Any:
        return None
    annotation = param.annotation
    # Litestar registers type decoders of its own whenever pydantic is importable (its pydantic plugin
    # is added by default, and `relay mcp`'s SDK brings pydantic along). They only convert types
    # msgspec cannot decode natively, so they become the decoder's hook: the bodies stay strict.
    type_decoders = tuple(handler.resolve_type_decoders())
    key = (annotation, type_decoders)
    decoder = _DECODERS.get(key)
    if decoder is None:
        hook = functools.partial(default_deserializer, type_decoders=type_decoders) if type_decoders else None
        decoder = _DECODERS[key] = msgspec.json.Decoder(annotation, strict=True, dec_hook=hook)
    return decoder


def validation_error(request: Request[Any, Any, Any], exc: msgspec.ValidationError) -> ValidationException:
    """The error Litestar's signature model would raise for this body field, with the same `extra`."""
    text = str(exc)
    at = _AT.search(text)
    message = {"message": text.split(" - ", maxsplit=1)[0], "key": at.group(1) if at else "data", "source": "body"}
    return ValidationException(detail=f"Validation failed for {request.method} {request.url.path}", extra=[message])


def _integral_floats(value: Any) -> Any:
    """`12.0` as `12`: one number in JavaScript, so the seed's `Number.isSafeInteger` accepts it."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SAFE_INT:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats(v) for v in value]
    return value


class StrictBodyRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        if self._json is not Empty:
            return self._json
        if (cached := self._connection_state.json) is not Empty:
            self._json = cached
            return cached
        handler = self.route_handler
        decoder = body_decoder(handler) if isinstance(handler, HTTPRouteHandler) else None
        if decoder is None:
            return await super().json()
        body = await self.body()
        try:
            value = decoder.decode(body or b"null")
        except msgspec.ValidationError as exc:
            value = await self._second_look(decoder, exc)
        except msgspec.DecodeError:
            # Malformed JSON: Litestar's own decoding raises the error (and text) it always has.
            return await super().json()
        self._json = self._connection_state.json = value
        return value

    async def _second_look(self, decoder: msgspec.json.Decoder[Any], exc: msgspec.ValidationError) -> Any:
        """A body the strict decoder refused: the error to answer, or the value after all."""
        text = str(exc)
        # msgspec stopped reading at the first wrong type: decode the whole document first, so JSON broken
        # further on, or nested too deeply, answers the error it always has.
        # An integer field given as `12.0` is retried with integral floats taken as integers.
        document = await super().json()
        if not _AT.search(text) or "got `float`" not in text:
            raise validation_error(self, exc) from exc
        try:
            return msgspec.convert(_integral_floats(document), decoder.type, strict=True)
        except RecursionError:
            raise validation_error(self, exc) from exc
        except msgspec.ValidationError as again:
            raise validation_error(self, again) from again
