# tests/interop tests
