"""`relay orchestrator`: the host daemon that runs agents for the relay (see relay_client/orchestrator/daemon.py).

Modules: `daemon` (registration, heartbeats, command intake), `agents` (spawn, restart, shutdown,
exits, prompt delivery), `procs` (tmux sessions or child processes, under `launcher`), `adapters`
(how each provider is launched), `state` (what survives a restart), `directories` (the directory
API), `echo_agent` (the test provider), `cli` (the command line).
"""
