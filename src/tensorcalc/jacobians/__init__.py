"""Jacobian strategies: batched sweeps (sweeps), structured local Jacobians (local,
structured), planning (plan), sparse colouring (sparse) and the dispatcher (driver)."""
