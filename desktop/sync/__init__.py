"""Sync: protocol, client, bundle files, applying pulled pages."""
