"""Stable ids for configurations: what the store resumes by and the report matches on."""

from __future__ import annotations

import hashlib
import json


def config_hash(config: dict) -> str:
    """A short stable id for a configuration: sha256 of its canonical JSON."""
    canonical = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
