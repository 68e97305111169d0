"""`relay mcp`: one agent's MCP server (stdio, or streamable HTTP), built on relay_client."""
