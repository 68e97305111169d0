"""`python -m relay_client.cli …` is `relay …`."""

from relay_client.cli import main

main()
