"""Reconciliation: matching what the gateway recorded against what the payment hub settled and the post remitted."""
