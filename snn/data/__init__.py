"""DVS Gesture data: tonic's real loader, the synthetic generator, framing and DataLoader setup."""
