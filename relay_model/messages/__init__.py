"""Messages, channels and pairs: everything agents say to each other and how it is routed.

- `messages.py` sending with fan-out, inboxes, history, claims and read cursors (`MessageStore`);
- `channels.py` channels, their bindings and pool slots (`ChannelStore`);
- `pairs.py`    two agents working together: request, accept/reject, end, expiry (`PairStore`);
- `reaper.py`   the reaper steps: expired message claims, pair timeouts, pool slots, message retention;
- `lua/`        the scripts (`message_*`, `messages_*`, `cursor_set`, `binding_*`, `pool_evaluate`,
  `pair_*`, `reap_message_claims`, `messages_trim`) and their libraries `_pool_lib.lua`, `_pair_lib.lua`.

Depends on `relay_model.agents` (a channel is an agent card; pool slots follow agent status).
"""

from relay_model import keys
from relay_model.scripts import LuaBundle

LUA = LuaBundle(
    __name__,
    templates={
        "$AGENT$": keys.agent(""),
        "$AGENTS_BY_TAG$": keys.agents_by("tag", ""),
        "$AGENTS_BY_CAP$": keys.agents_by("cap", ""),
        "$AGENTS_BY_LABEL$": keys.agents_by("label", ""),
        "$MESSAGE$": keys.message(""),
        "$MESSAGES_BY_FROM$": keys.messages_by("from", ""),
        "$MESSAGES_BY_TO$": keys.messages_by("to", ""),
        "$MESSAGES_BY_KIND$": keys.messages_by("kind", ""),
        "$MESSAGES_BY_CHANNEL$": keys.messages_by("channel", ""),
        "$INBOX$": keys.inbox(""),
        "$IDEMPOTENCY$": keys.idempotency(""),
        "$BINDING$": keys.binding(""),
        "$BINDINGS_OF_CHANNEL$": keys.bindings_of_channel(""),
        "$BINDINGS_OF_POOL$": keys.bindings_of_pool(""),
        "$POOL_HELD$": keys.pool_held(""),
        "$PAIR$": keys.pair(""),
        "$PAIRS_BY_STATUS$": keys.pairs_by("status", ""),
        "$PAIRS_BY_AGENT$": keys.pairs_by("agent", ""),
        "$PAIR_BETWEEN$": keys.pair_between_prefix(),
    },
)
