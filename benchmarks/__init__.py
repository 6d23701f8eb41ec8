"""Side-by-side measurements (`make bench`); never part of the pass/fail suite."""
