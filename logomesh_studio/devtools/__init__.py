"""Developer tools that run headless: debugger, profiler, test runner, scaffolding."""
