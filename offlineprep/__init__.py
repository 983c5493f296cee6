"""offlineprep: read-only preflight for Hyper-V offline initial replication (ASR VMM-to-VMM, Hyper-V Replica)."""

__version__ = "0.1.0"
