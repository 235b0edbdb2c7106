"""Custom transformation rules: input steps, a per-row prompt template, a row filter and output steps, declared
in the run conf (``transforms``) and as defaults in a registry entry (README "Transformation rules").

``rules`` holds the models (plain data, also imported by ``core.agent_spec`` and ``core.models``, so this package
imports nothing itself); ``row_transforms`` compiles and checks them (``plan_transforms``, ``RowTransforms``).
"""
