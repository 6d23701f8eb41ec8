"""Unit tests: no I/O beyond tmp_path; tiny graphs built in the test."""
