"""The compliance room: EU AI Act classification, controls, evidence, gates and documents."""
