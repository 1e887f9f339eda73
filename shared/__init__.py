"""Code shared by the labrun API, workers and CLI, in floors: ``core`` (settings, the call contract),
``storage``, ``usecases``, ``runs``; beside them ``client`` and ``testing``."""
