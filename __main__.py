"""kms-keys: the customer managed keys of one environment, read from Pulumi.<stack>.yaml."""

from components.program import build_keys, export_keys, read_stack_config

stack = read_stack_config()
keys = build_keys(stack)
export_keys(keys)
