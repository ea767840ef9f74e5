"""pytest plugin: the `dns_server` fixture (filled in by the server work)."""
