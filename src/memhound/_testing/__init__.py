"""Leak checks of test suites: a verdict per test (checked, leaking, not repeatable, not
checked), the session's summary and its JSON file. The pytest plugin (memhound.pytest_plugin)
and `memhound unittest` both repeat each test's whole protocol and hand the repetitions to
check_leaks."""
