"""Runs the real stack program under Pulumi's mock engine, offline, and records what it builds.

The program, its config and its project and stack names are exactly those `pulumi up` would
use; only the engine is replaced. Nothing is sent to AWS and no credentials are needed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import runpy
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

SECRET_PLACEHOLDER: Final = "[secret]"
# Inputs that carry key material or credentials; never shown, whatever their value.
SENSITIVE_INPUTS: Final = frozenset(
    {"keyMaterialBase64", "keyStorePassword", "xksProxyAuthenticationCredential", "grantToken"}
)


class StackFileError(ValueError):
    """The stack or project file cannot be found or read."""


@dataclass(frozen=True)
class StackFiles:
    """Where a stack's program and config live, and the names `pulumi up` would use."""

    project_dir: Path
    project: str
    stack: str
    stack_file: Path


def find_project_dir(start: Path) -> Path:
    """The nearest folder at or above *start* holding `Pulumi.yaml`, as the CLI finds it."""
    for folder in (start, *start.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise StackFileError(f"no Pulumi.yaml in {start} or any folder above it")


def resolve_stack(stack_or_file: str, *, project_dir: Path | None = None) -> StackFiles:
    """Accept a stack name (`dev`) or a path to a stack file (`Pulumi.dev.yaml`)."""
    project_dir = project_dir.resolve() if project_dir is not None else None
    candidate = Path(stack_or_file)
    is_file = candidate.suffix in (".yaml", ".yml") or os.sep in stack_or_file
    if is_file:
        if not candidate.is_file():
            raise StackFileError(f"stack file {stack_or_file!r} does not exist")
        stack_file = candidate.resolve()
        name = stack_file.name
        stem = name.rsplit(".", 1)[0]
        stack = stem.removeprefix("Pulumi.") if stem.startswith("Pulumi.") else stem
        base = project_dir or find_project_dir(Path.cwd())
    else:
        base = project_dir or find_project_dir(Path.cwd())
        stack = stack_or_file
        stack_file = base / f"Pulumi.{stack}.yaml"
        if not stack_file.is_file():
            known = sorted(path.name[7:-5] for path in base.glob("Pulumi.*.yaml"))
            raise StackFileError(
                f"no stack file Pulumi.{stack}.yaml in {base}; stacks there: {', '.join(known)}"
            )
    project_doc = _read_yaml(base / "Pulumi.yaml")
    project = project_doc.get("name")
    if not isinstance(project, str) or not project:
        raise StackFileError(f"{base / 'Pulumi.yaml'} has no project name")
    return StackFiles(project_dir=base, project=project, stack=stack, stack_file=stack_file)


class _StackFileLoader(yaml.SafeLoader):
    """YAML as the Pulumi CLI reads stack files: only true/false are booleans (YAML 1.2, not
    1.1's yes/no/on/off), dates stay text, and a key given twice is an error."""


def _no_duplicate_keys(loader: _StackFileLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    explicit: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node)
        if not isinstance(key, str | int | float | bool):
            raise yaml.constructor.ConstructorError(
                None, None, f"a mapping key must be plain text, not {key!r}", key_node.start_mark
            )
        if key in explicit:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        explicit.add(key)
    # YAML merge keys (`<<: *base`), as the CLI accepts them; the mapping's own keys win.
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        mapping[loader.construct_object(key_node)] = loader.construct_object(value_node, deep=True)
    return mapping


_StackFileLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StackFileLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_StackFileLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicate_keys
)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_StackFileLoader) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise StackFileError(f"cannot read {path}: {error}") from None
    if not isinstance(document, dict):
        raise StackFileError(f"{path} must hold a mapping")
    return document


def read_stack_config(files: StackFiles) -> tuple[dict[str, str], list[str]]:
    """The config as the Pulumi CLI hands it to a program, and the keys that are secrets.

    Keys without a namespace belong to the project; structured values travel as JSON text;
    `secure:` values are never decrypted: the program sees a placeholder.
    """
    document = _read_yaml(files.stack_file)
    values = document.get("config") or {}
    if not isinstance(values, dict):
        raise StackFileError(f"{files.stack_file}: 'config' must be a mapping")
    config: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in values.items():
        full_key = key if ":" in str(key) else f"{files.project}:{key}"
        if full_key in config:
            raise StackFileError(
                f"{files.stack_file}: config {full_key!r} is given twice "
                f"(once as {key!r}); keep one"
            )
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[full_key] = SECRET_PLACEHOLDER
            secrets.append(full_key)
        elif isinstance(value, str):
            config[full_key] = value
        else:
            masked, nested_secret = _mask_nested_secrets(value)
            config[full_key] = json.dumps(masked)
            if nested_secret:
                secrets.append(full_key)
    return config, secrets


def _mask_nested_secrets(value: Any) -> tuple[Any, bool]:
    """Replace `{secure: ...}` inside structured values, which the CLI would decrypt."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        found = False
        result = {}
        for key, item in value.items():
            result[key], nested = _mask_nested_secrets(item)
            found = found or nested
        return result, found
    if isinstance(value, list):
        items = [_mask_nested_secrets(item) for item in value]
        return [item for item, _ in items], any(nested for _, nested in items)
    return value, False


@dataclass
class RegisteredResource:
    """One resource the program registered, with the options the engine would see."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    protect: bool
    provider: str | None
    inputs: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class OfflineRun:
    """Everything an offline run produced."""

    files: StackFiles
    resources: list[RegisteredResource]
    outputs: dict[str, Any]
    log: list[tuple[str, str]]


def _mask(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: SECRET_PLACEHOLDER if key in SENSITIVE_INPUTS else value
        for key, value in inputs.items()
    }


def _plain(value: Any) -> Any:
    """Mock inputs hold floats for numbers; show whole numbers as ints, as the user wrote them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class KmsMocks(pulumi.runtime.Mocks):
    """Answers for the resources and calls this product makes, shaped like AWS's."""

    def __init__(self, *, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self.provider_regions: dict[str, str] = {}

    def _fake_id(self, name: str) -> str:
        digest = hashlib.sha256(name.encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        region = self.region
        if args.provider:
            region = self.provider_regions.get(args.provider.rsplit("::", 1)[0], region)
        partition = "aws-cn" if region.startswith("cn-") else "aws"
        if args.typ == "pulumi:providers:aws":
            resource_id = self._fake_id(args.name)
            return resource_id, state
        if args.typ in ("aws:kms/key:Key", "aws:kms/externalKey:ExternalKey",
                        "aws:kms/replicaKey:ReplicaKey"):
            key_id = self._fake_id(args.name)
            if args.typ == "aws:kms/replicaKey:ReplicaKey" or args.inputs.get("multiRegion"):
                key_id = "mrk-" + key_id.replace("-", "")
            arn = f"arn:{partition}:kms:{region}:{self.account_id}:key/{key_id}"
            state.update({"keyId": key_id, "arn": arn})
            return key_id, state
        if args.typ == "aws:kms/alias:Alias":
            name = args.inputs.get("name", args.name)
            state.update({"arn": f"arn:{partition}:kms:{region}:{self.account_id}:{name}"})
            return name, state
        if args.typ == "aws:kms/grant:Grant":
            grant_id = hashlib.sha256(args.name.encode()).hexdigest()
            state.update({"grantId": grant_id, "grantToken": SECRET_PLACEHOLDER})
            return grant_id, state
        if args.typ == "aws:iam/role:Role":
            name = args.inputs.get("name", args.name)
            state.update({"name": name, "arn": f"arn:{partition}:iam::{self.account_id}:role/"
                                                f"{name}"})
            return name, state
        if args.typ == "aws:kms/customKeyStore:CustomKeyStore":
            store_id = "cks-" + hashlib.sha256(args.name.encode()).hexdigest()[:17]
            return store_id, state
        return f"{args.name}-id", state

    def call(  # type: ignore[override]  # the SDK also accepts a bare dict
        self, args: pulumi.runtime.MockCallArgs
    ) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:sts::{self.account_id}:assumed-role/offline-preview/session",
                "userId": "AROAOFFLINEPREVIEW:session",
                "id": self.account_id,
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}
        if args.token == "aws:kms/getAlias:getAlias":
            name = args.args.get("name", "")
            key_id = self._fake_id(name)
            arn_base = f"arn:aws:kms:{self.region}:{self.account_id}"
            return {
                "arn": f"{arn_base}:{name}",
                "name": name,
                "targetKeyId": key_id,
                "targetKeyArn": f"{arn_base}:key/{key_id}",
                "id": name,
            }
        raise NotImplementedError(f"the offline engine has no answer for call {args.token}")


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping each registration's options and the stack outputs."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.kms_mocks = mocks
        self.registered: list[RegisteredResource] = []
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        inputs = _plain(rpc.deserialize_properties(request.object))
        if request.type == "pulumi:providers:aws" and isinstance(self.kms_mocks, KmsMocks):
            urn = self.make_urn(request.parent, request.type, request.name)
            self.kms_mocks.provider_regions[urn] = inputs.get("region", self.kms_mocks.region)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            registration = self.resources.get(response.urn)
            self.registered.append(
                RegisteredResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    custom=bool(request.custom),
                    protect=bool(request.protect),
                    provider=request.provider or None,
                    inputs=_mask(inputs),
                    state=_mask(_plain(dict(registration.state))) if registration else {},
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.stack_outputs = _plain(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)


class _LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname.lower(), record.getMessage()))


@contextmanager
def _program_path(project_dir: Path) -> Iterator[None]:
    saved_path, saved_cwd = list(sys.path), Path.cwd()
    sys.path.insert(0, str(project_dir))
    os.chdir(project_dir)
    try:
        yield
    finally:
        sys.path[:] = saved_path
        os.chdir(saved_cwd)


def run_offline(files: StackFiles, *, monitor: RecordingMonitor | None = None) -> OfflineRun:
    """Run `__main__.py` of the project for this stack under the mock engine.

    Raises `pulumi.RunError` (or the program's own exception) when the program stops, e.g.
    on bad config; nothing is registered in that case because the program checks first.
    """
    config, secret_keys = read_stack_config(files)
    account = _account_hint(config, files.project)
    region = config.get("aws:region", "us-east-1")
    if monitor is None:
        monitor = RecordingMonitor(KmsMocks(account_id=account, region=region))
    mocks = monitor.kms_mocks
    collector = _LogCollector()
    logger = logging.getLogger(f"kms-keys.offline.{files.stack}")
    logger.propagate = False
    logger.handlers[:] = [collector]
    logger.setLevel(logging.DEBUG)

    pulumi.runtime.set_mocks(
        mocks, project=files.project, stack=files.stack, preview=True, logger=logger,
        monitor=monitor,
    )
    pulumi.runtime.set_all_config(config, secret_keys)
    program = files.project_dir / "__main__.py"

    exported: dict[str, Any] = {}

    @pulumi.runtime.test
    def run_program() -> Any:
        runpy.run_path(str(program), run_name="__main__")
        root = pulumi.runtime.get_root_resource()
        outputs = getattr(root, "outputs", None) or {}
        return pulumi.Output.from_input(outputs).apply(exported.update)

    with _program_path(files.project_dir):
        run_program()
    return OfflineRun(
        files=files,
        # Registration order depends on the event loop; sort so every run reads the same.
        resources=sorted(monitor.registered, key=lambda res: (res.name, res.type)),
        outputs=_plain(_mask(exported)) or monitor.stack_outputs,
        log=collector.records,
    )


def _account_hint(config: Mapping[str, str], project: str) -> str:
    """The account the mocks answer as: the stack's own, so ARNs match the policy.

    Taken from `<project>:accountId`, else the first of `aws:allowedAccountIds`.
    """
    account = config.get(f"{project}:accountId", "")
    if not account.isdigit():
        try:
            allowed = json.loads(config.get("aws:allowedAccountIds", "[]"))
        except json.JSONDecodeError:
            allowed = []
        account = str(allowed[0]) if isinstance(allowed, list) and allowed else ""
    return account if account.isdigit() and len(account) == 12 else "000000000000"
