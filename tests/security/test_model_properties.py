"""Hypothesis properties of the wire models, token signing and the scope table."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from relay_api.auth import Principal
from relay_api.scopes import AREAS, matches, role_scopes, verbs_of
from relay_model.agents.agents import AgentCard, RegisterAgentInput
from relay_model.auth.roles import ROLES
from relay_model.auth.tokens import CreateTokenInput, IssuedToken, TokenRecord, TokenStore
from relay_model.errors import Invalid
from relay_model.messages.messages import Message, SendMessageInput
from relay_model.validation import clean_positive_int
from tests.security.conftest import TOKEN_SECRET

text = st.text(max_size=40)
ids = st.text(min_size=1, max_size=240)
maybe_int = st.none() | st.integers(min_value=0, max_value=2**53 - 1)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
objects = st.dictionaries(st.text(max_size=10), json_values, max_size=5)
scope_items = st.sampled_from([f"{a}:{v}" for a in AREAS for v in verbs_of(a)] + [f"{a}:*" for a in AREAS] + ["*"])

records = st.builds(
    TokenRecord,
    jti=st.uuids().map(lambda u: u.hex),
    sub=st.text(min_size=1, max_size=160),
    role=st.sampled_from(ROLES),
    scope=st.lists(scope_items, max_size=5),
    expires_at=maybe_int,
    created_at=st.integers(min_value=0, max_value=2**53 - 1),
    created_by=st.none() | text,
    revoked_at=maybe_int,
)
cards = st.builds(
    AgentCard,
    id=ids,
    name=text,
    kind=st.sampled_from(["provider", "channel", "orchestrator", "system", "user"]),
    status=st.sampled_from(["online", "idle", "busy", "stale", "offline"]),
    label=st.none() | text,
    tags=st.lists(text, max_size=5),
    capabilities=st.lists(text, max_size=5),
    meta=objects,
    last_seen=maybe_int,
)
messages = st.builds(
    Message,
    id=st.integers(min_value=1, max_value=2**53 - 1),
    to=ids,
    from_=ids,
    kind=st.sampled_from(["chat", "channel.event", "task", "pair", "control", "system"]),
    body=st.text(max_size=200),
    payload=st.none() | objects,
    claimable=st.booleans(),
    claimed_by=st.none() | ids,
)


@given(st.one_of(records, cards, messages))
def test_records_round_trip_through_json(value: Any) -> None:
    encoded = msgspec.json.encode(value)
    assert msgspec.json.decode(encoded, type=type(value)) == value
    # Records tolerate fields they do not know (an older node reading what a newer one wrote).
    doc = msgspec.json.decode(encoded)
    doc["addedByANewerNode"] = {"x": 1}
    assert msgspec.json.decode(msgspec.json.encode(doc), type=type(value)) == value


@given(records, st.text(min_size=10, max_size=300))
def test_issued_token_is_its_record_plus_the_secret(record: TokenRecord, secret: str) -> None:
    issued = IssuedToken(**{f: getattr(record, f) for f in record.__struct_fields__}, token=secret)
    as_record = msgspec.json.decode(msgspec.json.encode(issued), type=TokenRecord)
    assert as_record == record


@given(
    role=st.sampled_from(ROLES),
    sub=st.none() | st.text(max_size=200),
    ttl=st.none() | st.integers(min_value=-(2**60), max_value=2**60),
    created_by=st.none() | st.text(max_size=150),
)
def test_create_token_input_constraints(role: str, sub: str | None, ttl: int | None, created_by: str | None) -> None:
    # `ttl` None: the field is left out (null is refused, as the seed refuses everything but undefined).
    body: dict[str, Any] = {"role": role, "sub": sub, "createdBy": created_by} | (
        {} if ttl is None else {"ttlSeconds": ttl}
    )
    valid = (
        (sub is None or len(sub) <= 160)
        and (ttl is None or 1 <= ttl <= 2**53 - 1)
        and (created_by is None or len(created_by) <= 120)
    )
    try:
        decoded = msgspec.convert(body, CreateTokenInput)
        ttl_s = clean_positive_int(decoded.ttl_seconds, "ttlSeconds")
    except (msgspec.ValidationError, Invalid):
        assert not valid
    else:
        assert valid and decoded.role == role and ttl_s == ttl


@given(agent_id=st.text(max_size=300), tags=st.lists(st.text(max_size=90), max_size=120))
def test_register_input_constraints(agent_id: str, tags: list[str]) -> None:
    valid = 1 <= len(agent_id) <= 240 and len(tags) <= 100 and all(1 <= len(t) <= 80 for t in tags)
    try:
        msgspec.convert({"id": agent_id, "tags": tags}, RegisterAgentInput)
    except msgspec.ValidationError:
        assert not valid
    else:
        assert valid


@given(frm=st.text(max_size=300), body=st.text(max_size=10), subject=st.none() | st.text(max_size=600))
def test_send_input_constraints(frm: str, body: str, subject: str | None) -> None:
    valid = 1 <= len(frm) <= 240 and (subject is None or len(subject) <= 500)
    try:
        msgspec.convert({"from": frm, "body": body, "subject": subject}, SendMessageInput)
    except msgspec.ValidationError:
        assert not valid
    else:
        assert valid


@settings(max_examples=50)
@given(
    role=st.sampled_from(ROLES),
    sub=st.text(min_size=1, max_size=160),
    scope=st.lists(scope_items, max_size=4),
)
async def test_signed_claims_round_trip(role: str, sub: str, scope: list[str]) -> None:
    import jwt

    store = TokenStore(None, None, secret=TOKEN_SECRET, default_ttl_s=60, max_ttl_s=3600)  # type: ignore[arg-type]
    token = jwt.encode(
        {"sub": sub, "role": role, "scope": scope, "jti": "j", "iat": 1, "exp": 4_000_000_000},
        TOKEN_SECRET,
        algorithm="HS256",
    )
    claims = store.verify(token)
    assert claims is not None and (claims.sub, claims.role, claims.scope) == (sub, role, scope)
    # One flipped character anywhere in the signature and it is not ours.
    head, payload, sig = token.split(".")
    tampered = f"{head}.{payload}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}"
    assert store.verify(tampered) is None


@given(
    role=st.sampled_from(ROLES),
    narrow=st.none() | st.frozensets(scope_items, max_size=5),
    wanted=scope_items.filter(lambda s: s != "*" and not s.endswith(":*")),
)
def test_narrowing_never_widens(role: str, narrow: frozenset[str] | None, wanted: str) -> None:
    principal = Principal(role=role, sub="s", scopes=role_scopes(role), narrow=narrow)
    if principal.has(wanted):
        assert matches(role_scopes(role), wanted)
        assert narrow is None or matches(narrow, wanted)
