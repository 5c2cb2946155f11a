"""The live screen: one widget per module, each repainted only when its own view changes."""
