"""Where and how work runs: executors (serial, local processes, Ray), CPU threads, the allocator,
descriptor sharing between processes, module cloning, progress bars, seeding and device checks.

Nothing here knows a search space, a proxy or a dataset.
"""
