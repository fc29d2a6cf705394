"""Offline tools beside the service: the simulator, model fitting, evaluation, the
demo, HTML reports, loading a data set over HTTP and importing real tweets. The
service packages never import them; the ``mrd`` commands and the benchmarks do."""
