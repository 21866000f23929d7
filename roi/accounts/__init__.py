"""Organizations, users, roles, passwords, sessions, tokens; clients and the provider directory."""
