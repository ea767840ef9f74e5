"""Commands on zone files: validate, compile, export, import (the core issue's work)."""
