"""Process isolation: a plugin whose manifest says ``isolation = "process"`` runs in a
sandboxed process of its own.

- :mod:`.frames`: the channel's framing (length-prefixed JSON) and error codec.
- :mod:`.child`: the child's entry point (:func:`.child.child_main`) and the plugin's
  side of the channel (context proxies). Started as
  ``python -m logomesh_studio.runtime.isolation FD`` or, frozen, as the hidden
  subcommand ``logomesh-studio _isolated-child FD``.
- :mod:`.sandbox`: Landlock, seccomp and ``no_new_privs``, applied by the child.
- :mod:`.proxy`: :class:`.proxy.IsolatedPlugin`, the runtime's stand-in for the plugin,
  which the bridge routes to like any plugin.
- :mod:`.supervisor`: crash survival (restart with backoff) for the host.

Nothing here but this constant is imported unless a workspace has an isolated plugin.
"""

CHILD_COMMAND = "_isolated-child"
"""The hidden ``logomesh-studio`` subcommand that runs :func:`.child.child_main` (the
packaged app starts isolated plugins' processes with it)."""
