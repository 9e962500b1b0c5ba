"""Source-side helpers: reading, validating and generating PlayStudio Excel exports."""
