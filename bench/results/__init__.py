"""What a measurement leaves: typed rows, the crash-safe store, ids and paths."""
