"""The language stage: mapping text -> Plan, every problem located, nothing evaluated.

Load: `loader` (YAML -> data, with `sourcemap` positions), `mapfiles` (reading the files),
`assembly` (data -> MappingSpec of `spec`, with includes and `define:` entries, shape-checked by
`shapes`). Compile: `compiler` (rules -> Plan of `plan`), `values` (one field value),
`expressions` (one expression), `macros` (`${}`), `limits`, `constants`, `params`. Check:
`expression_checks`, `calls` (constant arguments that always fail), `rule_checks`, `lints`.
"""
