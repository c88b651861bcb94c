"""The kms-keys stack program, run here on the example stack file of this folder."""

from components.program import build_keys, export_keys, read_stack_config

stack = read_stack_config()
keys = build_keys(stack)
export_keys(keys)
