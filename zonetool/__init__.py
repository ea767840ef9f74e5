"""zonetool: DNS zones in YAML, validated, compiled to records, exported and served."""

__version__ = "0.1.0"
