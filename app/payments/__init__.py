"""Payments: the double-entry ledger (wallets, escrow, payables), booking holds and their settlement."""
