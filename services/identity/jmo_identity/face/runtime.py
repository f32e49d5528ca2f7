"""onnxruntime session options shared by the detector and the recogniser."""

from __future__ import annotations

import onnxruntime as ort

PROVIDERS = ["CPUExecutionProvider"]


def session_options(threads: int = 1, *, spin: bool = False) -> ort.SessionOptions:
    """CPU session options sized for a service that shares its cores.

    One intra-op thread per session is the default: the service scales by
    processes/requests, and ORT's default (one thread per core, spinning)
    makes concurrent requests fight over the same cores.
    """
    if threads < 1:
        raise ValueError("threads must be >= 1")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Both models trigger harmless warnings at load (unused initialisers,
    # initialisers listed as inputs); keep the service log for real errors.
    opts.log_severity_level = 3
    if not spin:
        # Idle pool threads otherwise busy-wait after each run and steal CPU
        # from the event loop and from the other requests.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts
