"""Edges that turn zone sources into the core's types: YAML (`yaml`) and BIND master files (`bind`)."""
