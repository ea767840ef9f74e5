"""Thin re-export kept only while compile.py still imports from here; the types live in `zonetool.rrtypes`."""

from zonetool.rrtypes import *  # noqa: F403
from zonetool.rrtypes import MODELED as RDATA_TYPES  # noqa: F401
