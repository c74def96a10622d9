"""Test drivers: one module per flow, so tests say what a person does, not which bytes a button carries."""
