"""`python -m relay_client.orchestrator …` is `relay orchestrator …`."""

from relay_client.orchestrator.cli import main

main()
