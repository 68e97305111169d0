"""Reaper steps of messages, pairs and pool slots.

- `messages.claims`: claims whose `claimExpiresAt` passed are released (`releasedMessageIds`);
- `pairs.expiry`: pending pairs past their deadline expire (with the seed's activity entry);
- `pools.slots`: slots held by agents no longer online/idle/busy, and unclaimed slots, move;
- `messages.retention`: messages past `AGENT_RELAY_MESSAGE_RETENTION_S` or beyond the newest
  `AGENT_RELAY_MESSAGE_MAX` are deleted with every index and inbox entry (messages_trim.lua).

Each reads only what is due and changes each item with a compare-and-set script; see
`relay_model.reaper` for the contract. The pass runs them in the order `relay_model.relay.REAP_STEPS` gives.
"""

from __future__ import annotations

import logging
from typing import Protocol

from relay_model.activity import ActivityInput, ActivityStore
from relay_model.messages.channels import ChannelStore
from relay_model.messages.messages import MessageStore
from relay_model.messages.pairs import PairStore
from relay_model.reaper import PassReport, ReapReport, drain, trim
from relay_model.settings import Settings

log = logging.getLogger("relay.reaper")


class MessageReaping(Protocol):
    """What these steps use of the relay."""

    settings: Settings
    messages: MessageStore
    channels: ChannelStore
    pairs: PairStore
    activity: ActivityStore


async def release_expired_claims(relay: MessageReaping, now: int, report: ReapReport) -> None:
    """Claims whose `claimExpiresAt` is at or before now are released (`message.claim_released`)."""
    messages = relay.messages
    released = await drain(
        lambda limit: messages.release_expired_claims_batch(now, limit), relay.settings.reap_batch_size
    )
    report.released_message_ids.extend(int(message_id) for message_id in released)


async def expire_pairs(relay: MessageReaping, now: int, report: ReapReport) -> None:
    for pair in await relay.pairs.expire_due(now):
        await relay.activity.add(
            ActivityInput(
                kind="pair",
                title="Pair request expired",
                body=f"{pair.from_} → {pair.to}",
                meta=str(pair.id),
                icon="ti-link-off",
                view="chat",
                agent_id=pair.from_,
                metadata={"pairId": pair.id, "status": pair.status},
                client_id=f"server-pair-{pair.id}-expired",
            )
        )


async def move_pool_slots(relay: MessageReaping, now: int, report: ReapReport) -> None:
    for change in await relay.channels.evaluate_due():
        log.info(
            "pool slot of binding %s moved from %s to %s",
            change.binding_id,
            change.previous_agent_id,
            change.new_agent_id,
        )


async def trim_messages(relay: MessageReaping, now: int, report: PassReport) -> None:
    settings = relay.settings
    report.trimmed_message_ids.extend(
        await trim(
            relay.messages.trim_batch,
            now=now,
            retention_s=settings.message_retention_s,
            keep=settings.message_max,
            batch_size=settings.reap_batch_size,
        )
    )
