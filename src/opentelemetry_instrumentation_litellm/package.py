"""The litellm versions this instrumentation supports.

`BaseInstrumentor` checks the installed litellm against this range before
instrumenting (`opentelemetry-instrument` skips us when it does not match).
1.107.0 was a compromised release and has been withdrawn: never accept it.
"""

_instruments = ("litellm >= 1.74, != 1.107.0, < 2",)
