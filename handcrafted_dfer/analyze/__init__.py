"""Analysis of videos: class timelines over sliding windows (and, later, identities, dynamics)."""
