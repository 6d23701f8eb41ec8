"""The test suites: unit/, integration/, e2e/ and conformance/, with shared helpers in support/."""
